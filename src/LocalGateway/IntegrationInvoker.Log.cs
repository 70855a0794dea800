using Microsoft.Extensions.Logging;

namespace Tether.LocalGateway;

public sealed partial class IntegrationInvoker
{
    [LoggerMessage(EventId = 5010, EventName = "RequestTemplateFailed", Level = LogLevel.Warning,
        Message = "Request template of {Integration} failed for {ConnectionId}: {Error}")]
    private partial void LogTemplateFailed(string integration, string connectionId, string error);

    [LoggerMessage(EventId = 5011, EventName = "IntegrationAnswered", Level = LogLevel.Debug,
        Message = "{Route} {Method} {Uri} answered {Status}")]
    private partial void LogIntegrationAnswered(string route, HttpMethod method, string uri, int status);

    [LoggerMessage(EventId = 5012, EventName = "IntegrationTimedOut", Level = LogLevel.Warning,
        Message = "Integration {Integration} ({Uri}) did not answer within {Timeout}")]
    private partial void LogIntegrationTimedOut(string integration, string uri, TimeSpan timeout);

    [LoggerMessage(EventId = 5013, EventName = "IntegrationFailed", Level = LogLevel.Warning,
        Message = "Integration {Integration} ({Uri}) failed: {Error}")]
    private partial void LogIntegrationFailed(string integration, string uri, string error);

    [LoggerMessage(EventId = 5014, EventName = "RequestBodyRefused", Level = LogLevel.Warning,
        Message = "Integration {Integration} has no $default request template and refuses passthrough (API Gateway answers 415)")]
    private partial void LogBodyRefused(string integration);
}

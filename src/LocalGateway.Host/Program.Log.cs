using Microsoft.Extensions.Logging;

internal partial class Program
{
    [LoggerMessage(EventId = 5030, EventName = "NoBackendUrl", Level = LogLevel.Error,
        Message = "No backend URL: pass --backend http://localhost:5000 (or set LocalGateway__BackendUrl)")]
    private static partial void LogNoBackendUrl(ILogger logger);

    [LoggerMessage(EventId = 5031, EventName = "DevelopmentCredentials", Level = LogLevel.Information,
        Message = "No credentials configured: the Management API accepts the local development pair")]
    private static partial void LogDevelopmentCredentials(ILogger logger);

    [LoggerMessage(EventId = 5032, EventName = "ConfigurationError", Level = LogLevel.Error,
        Message = "{Error}")]
    private static partial void LogConfigurationError(ILogger logger, string error);

    [LoggerMessage(EventId = 5033, EventName = "Ready", Level = LogLevel.Information,
        Message = "Point the backend at it: RESPONSE_MESSAGE_URL={ConnectionUrl}. Ctrl+C stops")]
    private static partial void LogReady(ILogger logger, Uri connectionUrl);
}

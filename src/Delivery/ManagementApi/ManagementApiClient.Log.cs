using Microsoft.Extensions.Logging;

namespace Tether.Delivery;

public sealed partial class ManagementApiClient
{
    [LoggerMessage(EventId = 2100, EventName = "ManagementApiForbidden", Level = LogLevel.Error,
        Message = "The Management API answered {Method} with 403 {ErrorType}: {Detail}. Check that {Endpoint} is the connection URL with its stage, " +
                  "that {Region} is the API's region, and that the credentials allow execute-api:ManageConnections on it; further 403s log at Debug")]
    private partial void LogForbidden(HttpMethod method, string endpoint, string errorType, string? detail, string region);

    [LoggerMessage(EventId = 2101, EventName = "ManagementApiForbiddenAgain", Level = LogLevel.Debug,
        Message = "Management API 403 for {Method} {Path}")]
    private partial void LogForbiddenAgain(HttpMethod method, string path);
}

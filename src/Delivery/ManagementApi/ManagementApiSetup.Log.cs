using Microsoft.Extensions.Logging;

namespace Tether.Delivery;

public static partial class ManagementApiSetup
{
    [LoggerMessage(EventId = 2900, EventName = "SigningRegionMismatch", Level = LogLevel.Warning,
        Message = "Signing region {Region} differs from the Management API host {Host}; API Gateway will answer 403. Set AWS_REGION to {HostRegion}")]
    private static partial void LogRegionMismatch(ILogger logger, string region, string host, string hostRegion);

    [LoggerMessage(EventId = 2901, EventName = "ConnectionsSuffixRemoved", Level = LogLevel.Warning,
        Message = "The Management API endpoint ended with /@connections; that part is added per call, so it was removed")]
    private static partial void LogConnectionsSuffixRemoved(ILogger logger);
}

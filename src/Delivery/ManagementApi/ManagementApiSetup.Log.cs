using Microsoft.Extensions.Logging;

namespace Tether.Delivery;

public static partial class ManagementApiSetup
{
    [LoggerMessage(EventId = 2901, EventName = "ConnectionsSuffixRemoved", Level = LogLevel.Warning,
        Message = "The Management API endpoint ended with /@connections; that part is added per call, so it was removed")]
    private static partial void LogConnectionsSuffixRemoved(ILogger logger);
}

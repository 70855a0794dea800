namespace Tether.Api.Hosting;

internal static partial class OrleansHosting
{
    [LoggerMessage(EventId = 3000, EventName = "ClusterUnavailable", Level = LogLevel.Warning,
        Message = "The Orleans cluster could not serve {Method} {Path}")]
    private static partial void LogClusterUnavailable(ILogger logger, Exception exception, string method, PathString path);
}

internal sealed partial class DrainOnStop
{
    [LoggerMessage(EventId = 3001, EventName = "Draining", Level = LogLevel.Information,
        Message = "Draining: new calls answer 503 for {Seconds} s before the listener closes")]
    private partial void LogDraining(double seconds);
}

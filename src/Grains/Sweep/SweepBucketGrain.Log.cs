using Microsoft.Extensions.Logging;

namespace Tether.Grains;

public sealed partial class SweepBucketGrain
{
    [LoggerMessage(1201, LogLevel.Warning, "Sweeping connection {ConnectionId} failed; it is checked again at the next pass", EventName = "SweepFailed")]
    private partial void LogSweepFailed(Exception exception, string connectionId);

    [LoggerMessage(1202, LogLevel.Warning, "Writing sweep bucket {Bucket} failed; its removals are written with its next change", EventName = "WriteFailed")]
    private partial void LogWriteFailed(Exception exception, string bucket);
}

using Microsoft.Extensions.Logging;

namespace Tether.Hosting;

internal sealed partial class DeadSiloWatch
{
    [LoggerMessage(EventId = 4310, EventName = "SiloDeclaredDead", Level = LogLevel.Warning,
        Message = "Silo {Silo} was declared dead: failed {Count} calls in flight to the cluster since before it was first suspected")]
    private partial void LogDeclaredDead(SiloAddress silo, int count);

    [LoggerMessage(EventId = 4311, EventName = "MembershipReadFailed", Level = LogLevel.Debug,
        Message = "Could not read the membership table; trying again")]
    private partial void LogReadFailed(Exception exception);
}

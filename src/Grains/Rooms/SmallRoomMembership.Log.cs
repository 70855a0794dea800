using Microsoft.Extensions.Logging;

namespace Tether.Grains;

internal sealed partial class SmallRoomMembership
{
    [LoggerMessage(1150, LogLevel.Warning, "Room {Room} moved its members to shards but could not delete its own member set, which it no longer reads", EventName = "OwnSetNotDeleted")]
    private static partial void LogOwnSetNotDeleted(ILogger logger, Exception exception, string room);
}

using Microsoft.Extensions.Logging;

namespace Tether.Grains;

public sealed partial class RoomGrain
{
    [LoggerMessage(1151, LogLevel.Warning, "Room {Room} deactivates ({Reason}) after waiting {Timeout} for its queued posts: its next activation may post a sender's next message before them", EventName = "RoomMovedBeforePostsEnded")]
    private partial void LogMovedBeforePostsEnded(string room, TimeSpan timeout, string reason);
}

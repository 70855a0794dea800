using Microsoft.Extensions.Logging;

namespace Tether.Grains;

public sealed partial class RoomGrain
{
    [LoggerMessage(1151, LogLevel.Warning, "Room {Room} deactivates ({Reason}) after waiting {Timeout} for its queued posts: its next activation may post a sender's next message before them", EventName = "RoomMovedBeforePostsEnded")]
    private partial void LogMovedBeforePostsEnded(string room, TimeSpan timeout, string reason);

    [LoggerMessage(1090, LogLevel.Warning, "Room {Room} waited {Timeout} for {Count} earlier activations, on other silos, to end their queued posts, and goes on: a sender's next message may overtake one still queued there", EventName = "RoomEarlierActivationsSlow")]
    private partial void LogEarlierActivationsSlow(string room, int count, TimeSpan timeout);

    [LoggerMessage(1091, LogLevel.Warning, "Room {Room} could not learn whether its earlier activations ended their queued posts, and goes on without waiting for them", EventName = "RoomEarlierActivationsUnknown")]
    private partial void LogEarlierActivationsUnknown(Exception exception, string room);

    [LoggerMessage(1092, LogLevel.Warning, "Room {Room} could not remove its activation mark: its next activation waits until Rooms__ShardHandOverTimeout", EventName = "RoomMarkNotRemoved")]
    private partial void LogMarkNotRemoved(Exception exception, string room);
}

using Microsoft.Extensions.Logging;

namespace Tether.Grains;

public sealed partial class RoomShardGrain
{
    [LoggerMessage(1101, LogLevel.Warning, "Shard {Shard} waited {Timeout} for {Predecessor}'s queued posts and posts anyway: a sender's next message may overtake its previous one", EventName = "HandOverTimedOut")]
    private partial void LogHandOverTimedOut(string shard, string predecessor, TimeSpan timeout);

    [LoggerMessage(1102, LogLevel.Warning, "Shard {Shard} could not ask {Predecessor} about its queued posts and posts anyway: order across the hand-over is best effort", EventName = "HandOverFailed")]
    private partial void LogHandOverFailed(Exception exception, string shard, string predecessor);

    [LoggerMessage(1103, LogLevel.Warning, "Shard {Shard} holds {Bytes} bytes in {Count} messages during a hand-over: publishes wait for it (raise Rooms__ShardHandOverMaxDeferredBytes if this is common)", EventName = "HeldTooMuch")]
    private partial void LogHeldTooMuch(string shard, long bytes, int count);

    [LoggerMessage(1104, LogLevel.Warning, "Shard {Shard} deactivated ({Reason}) during a hand-over: its {Count} held messages are posted now, in best-effort order", EventName = "PostedAtDeactivation")]
    private partial void LogPostedAtDeactivation(string shard, int count, string reason);

    [LoggerMessage(1154, LogLevel.Warning, "Shard {Shard} deactivates ({Reason}) after waiting {Timeout} for its queued posts: its next activation may post a sender's next message before them", EventName = "ShardMovedBeforePostsEnded")]
    private partial void LogMovedBeforePostsEnded(string shard, TimeSpan timeout, string reason);

    [LoggerMessage(1060, LogLevel.Warning, "Shard {Shard} waited {Timeout} for {Count} earlier activations, on other silos, to end their queued posts, and posts anyway: a sender's next message may overtake one still queued there", EventName = "EarlierActivationsSlow")]
    private partial void LogEarlierActivationsSlow(string shard, int count, TimeSpan timeout);

    [LoggerMessage(1061, LogLevel.Warning, "Shard {Shard} could not learn whether its earlier activations ended their queued posts, and posts without waiting for them", EventName = "EarlierActivationsUnknown")]
    private partial void LogEarlierActivationsUnknown(Exception exception, string shard);

    [LoggerMessage(1062, LogLevel.Warning, "Shard {Shard} could not remove its activation mark: its next activation holds its posts until Rooms__ShardHandOverTimeout", EventName = "ShardMarkNotRemoved")]
    private partial void LogMarkNotRemoved(Exception exception, string shard);
}

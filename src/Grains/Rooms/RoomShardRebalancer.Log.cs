using Microsoft.Extensions.Logging;

namespace Tether.Grains;

public sealed partial class RoomShardRebalancer
{
    [LoggerMessage(1152, LogLevel.Information, "Rebalancing over {Silos} silos: {Moved} of {Misplaced} misplaced room shards on this silo moved", EventName = "ShardsRebalanced")]
    private partial void LogMoved(int moved, int misplaced, int silos);

    [LoggerMessage(1153, LogLevel.Warning, "A room shard rebalancing pass failed; the next one starts over", EventName = "RebalancePassFailed")]
    private partial void LogPassFailed(Exception exception);
}

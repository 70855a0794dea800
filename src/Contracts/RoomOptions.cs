using Microsoft.Extensions.Options;

namespace Tether.Contracts;

/// <summary>Room behaviour (configuration section <c>Rooms</c>).</summary>
public sealed class RoomOptions
{
    public const string Section = "Rooms";

    public const string DefaultRoomName = "lobby";

    /// <summary>The room every connection joins at <c>$connect</c>; empty turns it off.</summary>
    public string? Default { get; set; } = DefaultRoomName;

    /// <summary>Whether joins and leaves of named rooms are announced to the other members.</summary>
    public bool PresenceNotices { get; set; } = true;

    /// <summary>Rooms larger than this send no presence notices (each notice costs one post per member).</summary>
    public int PresenceMaxMembers { get; set; } = 1000;

    /// <summary>
    /// Joins and leaves of one room within this window go out together, and a join and a leave of the same connection
    /// within it cancel out: one connection alternating joinroom/leaveroom costs at most one notice per window.
    /// </summary>
    public TimeSpan PresenceWindow { get; set; } = DefaultPresenceWindow;

    public static readonly TimeSpan DefaultPresenceWindow = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Presence posts (one per recipient of each notice) one room may cause per second, for the whole cluster (the room
    /// grain sends every notice of its room). Notices past it are dropped and counted. The default is a fifth of the
    /// default post budget (<c>Delivery__MaxPostsPerSecond</c>), so no room's presence can take the budget from messages.
    /// </summary>
    public int MaxPresencePostsPerSecond { get; set; } = DefaultMaxPresencePostsPerSecond;

    public const int DefaultMaxPresencePostsPerSecond = 1000;

    /// <summary>Who may send to the default room (every connection is in it: 100,000 members in a large deployment).</summary>
    public DefaultRoomSend DefaultRoomSend { get; set; } = DefaultRoomSend.Members;

    /// <summary>
    /// A room with more members than this keeps its membership in shard grains instead of one list: a room's state is
    /// written whole on every join, so one list would cost O(members) per join and hold the whole fan-out on one silo.
    /// </summary>
    public int ShardThreshold { get; set; } = 1000;

    /// <summary>Shards a room starts with when it passes <see cref="ShardThreshold"/> (a power of two).</summary>
    public int InitialShards { get; set; } = 64;

    /// <summary>A shard holding more members than this is split in two, so a join writes at most about this many ids.</summary>
    public int ShardCapacity { get; set; } = 2000;

    /// <summary>
    /// When members move to a shard (a room is sharded, a shard splits), the posts already queued for them where they
    /// were (the room's or the old shard's silo) must end before the new shard, perhaps on another silo, posts a
    /// sender's next message, or that message could overtake the previous one. The new shard accepts publishes at once
    /// but holds their posts until then, waiting at most this long (then it posts anyway, and logs a warning). The same
    /// bound applies when a room or shard moves to another silo: the leaving activation waits this long for its queued
    /// posts, and a new activation that finds an earlier one's activation mark waits this long for it to go.
    /// </summary>
    public TimeSpan ShardHandOverTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Bytes of messages a shard may hold during a hand-over (payload plus one reference per recipient): they are not
    /// in the dispatcher's queue, so its admission mark does not bound them. Past this a publish waits for the
    /// hand-over to end. A safety valve against a flood during a hand-over, not the normal path.
    /// </summary>
    public long ShardHandOverMaxDeferredBytes { get; set; } = 16 * 1024 * 1024;

    public const int DefaultRebalanceMovesPerSecond = 10;

    /// <summary>
    /// Room shards a silo moves per second when the silos change (one joins or leaves), so that existing rooms spread
    /// over the new set; 0 leaves shards where they were activated. Each move waits for the posts the shard queued on
    /// its old silo, and publishes to that shard wait meanwhile: the pace keeps that a trickle.
    /// </summary>
    public int RebalanceMovesPerSecond { get; set; } = DefaultRebalanceMovesPerSecond;

    public string? DefaultRoom => string.IsNullOrWhiteSpace(Default) ? null : Default;
}

/// <summary>Refuses room settings that cannot work, naming the setting as an operator sets it.</summary>
public sealed class RoomOptionsValidator : IValidateOptions<RoomOptions>
{
    /// <summary>Notices held longer than this would no longer read as "someone just joined".</summary>
    private static readonly TimeSpan MaxPresenceWindow = TimeSpan.FromSeconds(10);

    public ValidateOptionsResult Validate(string? name, RoomOptions options)
    {
        var problems = new List<string>();
        if (options.DefaultRoom is { } room && !RoomNames.IsValid(room)) problems.Add("Rooms__Default is not a valid room name.");
        if (options.PresenceMaxMembers < 0) problems.Add("Rooms__PresenceMaxMembers must not be negative.");
        if (options.PresenceWindow < TimeSpan.Zero || options.PresenceWindow > MaxPresenceWindow)
        {
            problems.Add($"Rooms__PresenceWindow must be 0 to {MaxPresenceWindow:c}.");
        }
        if (options.MaxPresencePostsPerSecond < 1) problems.Add("Rooms__MaxPresencePostsPerSecond must be at least 1 (Rooms__PresenceNotices=false turns presence off).");
        if (!Enum.IsDefined(options.DefaultRoomSend)) problems.Add("Rooms__DefaultRoomSend must be Members or AdminOnly.");
        if (options.ShardThreshold < 1) problems.Add("Rooms__ShardThreshold must be at least 1.");
        if (options.InitialShards is < 1 or > RoomShards.MaxShards || !int.IsPow2(options.InitialShards))
        {
            problems.Add($"Rooms__InitialShards must be a power of two between 1 and {RoomShards.MaxShards}.");
        }
        if (options.ShardCapacity < 2) problems.Add("Rooms__ShardCapacity must be at least 2.");
        if (options.ShardHandOverTimeout <= TimeSpan.Zero || options.ShardHandOverTimeout > RoomShards.MaxHandOverTimeout)
        {
            problems.Add($"Rooms__ShardHandOverTimeout must be positive and at most {RoomShards.MaxHandOverTimeout}.");
        }
        if (options.RebalanceMovesPerSecond is < 0 or > 1000) problems.Add("Rooms__RebalanceMovesPerSecond must be between 0 and 1000.");
        if (options.ShardHandOverMaxDeferredBytes < 0) problems.Add("Rooms__ShardHandOverMaxDeferredBytes must not be negative.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

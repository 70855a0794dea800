namespace Tether.Contracts;

/// <summary>Room behaviour (configuration section <c>Rooms</c>).</summary>
public sealed class RoomOptions
{
    public const string Section = "Rooms";

    /// <summary>The room every connection joins at <c>$connect</c>; empty turns it off.</summary>
    public string? Default { get; set; } = "lobby";

    /// <summary>Whether joins and leaves of named rooms are announced to the other members.</summary>
    public bool PresenceNotices { get; set; } = true;

    /// <summary>Rooms larger than this send no presence notices (each notice costs one post per member).</summary>
    public int PresenceMaxMembers { get; set; } = 1000;

    /// <summary>
    /// A room with more members than this keeps its membership in shard grains instead of one list: a room's state is
    /// written whole on every join, so one list would cost O(members) per join and hold the whole fan-out on one silo.
    /// </summary>
    public int ShardThreshold { get; set; } = 1000;

    /// <summary>Shards a room starts with when it passes <see cref="ShardThreshold"/> (a power of two).</summary>
    public int InitialShards { get; set; } = 8;

    /// <summary>A shard holding more members than this is split in two, so a join writes at most about this many ids.</summary>
    public int ShardCapacity { get; set; } = 2000;

    /// <summary>
    /// When members move to a shard (a room is sharded, a shard splits), the posts already queued for them where they
    /// were (the room's or the old shard's silo) must end before the new shard, perhaps on another silo, posts a
    /// sender's next message, or that message could overtake the previous one. The new shard accepts publishes at once
    /// but holds their posts until then, waiting at most this long (then it posts anyway, and logs a warning).
    /// </summary>
    public TimeSpan ShardHandOverTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Bytes of messages a shard may hold during a hand-over (payload plus one reference per recipient): they are not
    /// in the dispatcher's queue, so its admission mark does not bound them. Past this a publish waits for the
    /// hand-over to end. A safety valve against a flood during a hand-over, not the normal path.
    /// </summary>
    public long ShardHandOverMaxDeferredBytes { get; set; } = 16 * 1024 * 1024;

    public string? DefaultRoom => string.IsNullOrWhiteSpace(Default) ? null : Default;
}

/// <summary>Connection behaviour (configuration section <c>Connections</c>).</summary>
public sealed class ConnectionOptions
{
    public const string Section = "Connections";

    /// <summary>
    /// After <c>/connect</c> accepts a connection, API Gateway still answers 410 to posts until it has finished the
    /// <c>$connect</c> (up to its 29 s integration timeout). A 410 inside this window is checked again after it ends.
    /// </summary>
    public TimeSpan ConnectGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often each connection is checked with API Gateway (GetConnection) in case its <c>$disconnect</c> never came
    /// (API Gateway sends it best effort). The checks are driven by the sweep index: one durable reminder per bucket
    /// of connections accepted in the same minute, so they survive silo failures; a bucket spreads its checks over
    /// half an interval.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>API Gateway closes every connection after 2 hours: one older than this is dropped without asking.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(2);

    /// <summary>At most this many sweep checks per second per silo, so a burst of due checks cannot flood API Gateway.</summary>
    public int SweepChecksPerSecond { get; set; } = 20;

    /// <summary>
    /// How long a connection's grain stays in memory without calls before Orleans collects it. Its state is stored,
    /// so an idle connection costs its stored state and memberships, not an activation; its next message reactivates
    /// it (one storage read). Must be longer than Orleans' collection quantum (<c>Orleans:GrainCollection:CollectionQuantum</c>,
    /// default 1 minute) and than <see cref="ConnectGracePeriod"/>.
    /// </summary>
    public TimeSpan IdleActivationAge { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Whether a connection's grain leaves memory as soon as its <c>/connect</c> has been answered, instead of after
    /// <see cref="IdleActivationAge"/>. Broadcasts never call connection grains (rooms post to API Gateway directly),
    /// so most connections need their grain again only when their client sends something; meanwhile an activation costs
    /// about 2.3 KB, more than everything else a connection keeps. With this on (the default), a connect storm of
    /// 100,000 connections holds 100,000 stored states rather than 100,000 activations, and the first message of each
    /// connection pays one storage read to reactivate it.
    /// </summary>
    public bool DeactivateAfterConnect { get; set; } = true;
}

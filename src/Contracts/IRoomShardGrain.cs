using Orleans.Concurrency;

namespace Tether.Contracts;

/// <summary>
/// A slice of a large room's membership (key <c>{index}/{room}</c>). Only its room grain calls it. Each shard hands
/// its members' deliveries to the dispatcher of the silo it lives on, so one room's fan-out uses the whole cluster.
/// </summary>
public interface IRoomShardGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds a member (idempotent); says whether it was new and how many members the shard now has. Then queues
    /// <paramref name="replay"/> for it alone, in order, on the path its live posts take.
    /// </summary>
    Task<ShardChange> Add(string connectionId, IReadOnlyList<OutboundMessage>? replay = null);

    /// <summary>Removes a member (idempotent); says whether it was a member and how many members remain.</summary>
    Task<ShardChange> Remove(string connectionId);

    /// <summary>
    /// Replaces the shard's whole membership with members that move here from shard <paramref name="fromShard"/> (a
    /// split) or from the room's own list (null: the room is being sharded). Returns once stored; the shard then asks
    /// its predecessor in the background for the end of the posts it queued, and until then accepts publishes but
    /// holds their posts, so none of a sender's messages overtakes its previous one across silos.
    /// </summary>
    Task HandOver(IReadOnlyList<string> members, int depth, int? fromShard);

    /// <summary>
    /// Completes when the posts this shard queued so far (those it holds for a hand-over included) have ended: true,
    /// or false when <paramref name="timeout"/> passed first. Interleaves: it only awaits local work.
    /// </summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:10:00")]
    Task<bool> QueuedPostsEnded(TimeSpan timeout);

    /// <summary>
    /// Makes the shard own exactly what index and <paramref name="depth"/> give it, dropping members a split moved to a
    /// sibling (after a crash mid-split), and returns its member count.
    /// </summary>
    Task<int> Settle(int depth);

    /// <summary>The members that a split at <paramref name="depth"/> moves to shard <paramref name="index"/>.</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> MembersFor(int index, int depth);

    /// <summary>Queues the message for every member (except one) on this silo's dispatcher; returns the count.</summary>
    Task<int> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery);

    /// <summary>
    /// Moves the shard to the silo its placement rule names now, if that is another one and no hand-over is under way;
    /// says whether it moves. The move waits for the posts the shard queued on its current silo.
    /// </summary>
    Task<bool> MoveIfMisplaced();

    [AlwaysInterleave]
    [ResponseTimeout("00:10:00")]
    Task<DeliverySummary> AwaitDelivery(string messageId, TimeSpan timeout);

    [ReadOnly]
    Task<bool> IsMember(string connectionId);

    /// <summary>Up to <paramref name="limit"/> members in ordinal order after <paramref name="after"/>.</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> GetMembers(string? after, int limit);
}

[GenerateSerializer, Immutable, Alias("tether.ShardChange")]
public sealed record ShardChange(
    [property: Id(0)] bool Changed,
    [property: Id(1)] int Count);

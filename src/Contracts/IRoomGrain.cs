using Orleans.Concurrency;

namespace Tether.Contracts;

/// <summary>A room and its members, keyed by the room name.</summary>
public interface IRoomGrain : IGrainWithStringKey
{
    /// <summary>What <see cref="Join"/> returns when the room is at <c>Limits__MaxMembersPerRoom</c>.</summary>
    const int Full = -1;

    /// <summary>Adds a member (idempotent) and returns the member count, or <see cref="Full"/> when the room is full.</summary>
    Task<int> Join(string connectionId, string? user);

    /// <summary>
    /// Adds a member like <see cref="Join"/> and says where the room's stream is. With <paramref name="since"/>, first
    /// queues for this member alone, through the path the room's live posts to it take, every message after that
    /// position (contract §7), so they arrive before any message accepted after the join.
    /// </summary>
    Task<RoomJoin> JoinFrom(string connectionId, string? user, StreamPosition? since);

    /// <summary>Removes a member (idempotent). Returns whether it was a member.</summary>
    Task<bool> Leave(string connectionId, string? user, bool notify);

    /// <summary>
    /// Gives the message the room's next seq, stores it in the history, hands it to the silo's dispatcher for every
    /// member (except <paramref name="exceptConnectionId"/>) and returns without waiting for any delivery. A
    /// <paramref name="requestId"/> the room accepted within 5 minutes returns that acceptance's receipt instead.
    /// </summary>
    Task<PublishReceipt> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery, string? requestId = null);

    /// <summary>
    /// Up to <paramref name="limit"/> stored messages before seq <paramref name="before"/> (null: the latest), ascending,
    /// at most <paramref name="maxBytes"/> of envelopes; <see cref="HistoryPage.More"/> when older ones were left out.
    /// </summary>
    Task<HistoryPage> History(long? before, int limit, int maxBytes);

    /// <summary>Up to <paramref name="limit"/> stored messages after seq <paramref name="since"/>, ascending; <see cref="HistoryPage.More"/> when later ones follow.</summary>
    Task<HistoryPage> Messages(long since, int limit);

    /// <summary>Waits for a tracked message's deliveries to finish. Interleaves: it only awaits local work.</summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:10:00")]
    Task<DeliverySummary> AwaitDelivery(string messageId, TimeSpan timeout);

    /// <summary>
    /// Completes when the posts the room queued itself (before it was sharded) have ended: true, or false when
    /// <paramref name="timeout"/> passed first. Its new shards wait for this before posting (see
    /// <see cref="IRoomShardGrain.HandOver"/>). Interleaves: it only awaits local work.
    /// </summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:10:00")]
    Task<bool> QueuedPostsEnded(TimeSpan timeout);

    [ReadOnly]
    Task<int> Count();

    [ReadOnly]
    Task<bool> IsMember(string connectionId);

    /// <summary>Members in ordinal order, starting after <paramref name="after"/>.</summary>
    [ReadOnly]
    Task<MemberPage> GetMembers(string? after, int limit);
}

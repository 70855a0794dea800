using Orleans.Concurrency;

namespace Tether.Contracts;

/// <summary>A room and its members, keyed by the room name.</summary>
public interface IRoomGrain : IGrainWithStringKey
{
    /// <summary>What <see cref="Join"/> returns when the room is at <c>Limits__MaxMembersPerRoom</c>.</summary>
    const int Full = -1;

    /// <summary>Adds a member (idempotent) and returns the member count, or <see cref="Full"/> when the room is full.</summary>
    Task<int> Join(string connectionId, string? user);

    /// <summary>Removes a member (idempotent). Returns whether it was a member.</summary>
    Task<bool> Leave(string connectionId, string? user, bool notify);

    /// <summary>
    /// Hands the message to the silo's dispatcher for every member (except <paramref name="exceptConnectionId"/>)
    /// and returns without waiting for any delivery.
    /// </summary>
    Task<PublishReceipt> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery);

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

using Microsoft.Extensions.Logging;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Where a room's members are: in the room's own member set (<see cref="SmallRoomMembership"/>), or spread over shard
/// grains (<see cref="ShardedRoomMembership"/>). A small room hands itself over to the sharded kind as it grows.
/// <see cref="RoomGrain"/> calls it under its <see cref="RoomGate"/>: shared, or alone for changes where
/// <see cref="ChangesRunAlone"/>; <see cref="FollowUpAsync"/> comes after the gate is released.
/// </summary>
internal abstract class RoomMembership
{
    /// <summary>Whether adding and removing members needs the room's gate alone.</summary>
    public abstract bool ChangesRunAlone { get; }

    public abstract int Count { get; }

    /// <summary>
    /// Adds a member (idempotent) unless the room is full, or hands the room to its successor. Once it is a member,
    /// queues <paramref name="replay"/> for it alone, in order, where its live posts are queued.
    /// </summary>
    public abstract Task<MemberAdded> AddAsync(string connectionId, IReadOnlyList<OutboundMessage> replay);

    /// <summary>
    /// What an add left to do once the room's gate is released: splitting <see cref="MemberAdded.OverfullShard"/>,
    /// which takes the gate alone.
    /// </summary>
    public abstract Task FollowUpAsync(MemberAdded added);

    /// <summary>Removes a member (idempotent); whether it was one.</summary>
    public abstract Task<bool> RemoveAsync(string connectionId);

    public abstract ValueTask<bool> ContainsAsync(string connectionId);

    /// <summary>Queues the message for every member but <paramref name="exceptConnectionId"/>; returns their number.</summary>
    public abstract ValueTask<int> PublishAsync(OutboundMessage message, string? exceptConnectionId, bool track);

    /// <summary>
    /// Waits for a tracked message's deliveries. What to wait for is taken when called, so the caller may leave the
    /// gate before awaiting.
    /// </summary>
    public abstract Task<DeliverySummary> AwaitDeliveryAsync(string messageId, TimeSpan timeout);

    /// <summary>Members after <paramref name="after"/>, unordered, among them the first <paramref name="limit"/> in ordinal order.</summary>
    public abstract ValueTask<IEnumerable<string>> MembersAfterAsync(string? after, int limit);

    /// <summary>The membership the room's state describes; a sharded room first settles its shards.</summary>
    public static async Task<RoomMembership> RestoreAsync(RoomContext room) =>
        room.State.State.Shards.Count == 0
            ? await SmallRoomMembership.LoadAsync(room)
            : await ShardedRoomMembership.SettleAsync(room);
}

/// <summary>What a room's memberships share with their room.</summary>
internal sealed record RoomContext(
    string Name,
    IPersistentState<RoomState> State,
    IMemberSets Sets,
    IGrainFactory Grains,
    RoomGate Gate,
    Outbox Outbox,
    RoomOptions Options,
    int MaxMembers,
    ILogger Logger)
{
    public IRoomShardGrain Shard(int index) => Grains.RoomShard(RoomShards.Key(Name, index));
}

/// <summary>
/// What <see cref="RoomMembership.AddAsync"/> did: the member count (or <see cref="IRoomGrain.Full"/>) and whether the
/// member is new. <see cref="Successor"/> is set when the room moved to another membership instead (the caller adds
/// there); <see cref="OverfullShard"/> names a shard the add took past its capacity.
/// </summary>
internal readonly record struct MemberAdded(int Count, bool Added, RoomMembership? Successor = null, int? OverfullShard = null)
{
    public static MemberAdded Full => new(IRoomGrain.Full, Added: false);
}

using Tether.Abstractions;
using Tether.Delivery;
using Tether.Placement;

namespace Tether;

/// <summary>
/// One slice of a large room. <see cref="RoomShardPlacement"/> spreads a room's shards evenly over the silos, and each
/// shard posts through its own silo's dispatcher, so a 100,000-member fan-out is shared by the cluster.
/// </summary>
[GrainType(TetherGrainTypes.RoomShard)]
[RoomShardPlacement]
public sealed class RoomShardGrain(
    [PersistentState("roomshard", TetherStorage.Name)] IPersistentState<RoomShardState> state,
    IDeliveryDispatcher dispatcher) : Grain, IRoomShardGrain
{
    private HashSet<string> Members => state.State.Members;

    private (int Index, string Room) Key => RoomShards.ParseKey(this.GetPrimaryKeyString());

    public async Task<ShardChange> Add(string connectionId)
    {
        if (!Members.Add(connectionId)) return new ShardChange(false, Members.Count);
        await state.WriteStateAsync();
        return new ShardChange(true, Members.Count);
    }

    public async Task<ShardChange> Remove(string connectionId)
    {
        if (!Members.Remove(connectionId)) return new ShardChange(false, Members.Count);
        await state.WriteStateAsync();
        return new ShardChange(true, Members.Count);
    }

    public async Task Replace(IReadOnlyList<string> members, int depth)
    {
        state.State.Members = new HashSet<string>(members, StringComparer.Ordinal);
        state.State.Depth = depth;
        await state.WriteStateAsync();
    }

    public async Task<int> Settle(int depth)
    {
        if (state.State.Depth == depth) return Members.Count;
        var index = Key.Index;
        Members.RemoveWhere(m => !RoomShards.Owns(RoomShards.Hash(m), index, depth));
        state.State.Depth = depth;
        await state.WriteStateAsync();
        return Members.Count;
    }

    public Task<IReadOnlyList<string>> MembersFor(int index, int depth) =>
        Task.FromResult<IReadOnlyList<string>>([.. Members.Where(m => RoomShards.Owns(RoomShards.Hash(m), index, depth))]);

    public Task<int> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery)
    {
        var room = Key.Room;
        var recipients = exceptConnectionId is null ? Members : Members.Where(m => m != exceptConnectionId);
        return Task.FromResult(dispatcher.Dispatch(message, "room:" + room, room, recipients, trackDelivery, TrackingKey(message.Id)));
    }

    public async Task<DeliverySummary> AwaitDelivery(string messageId, TimeSpan timeout) =>
        await dispatcher.WaitAsync(TrackingKey(messageId), timeout) with { MessageId = messageId };

    private string TrackingKey(string messageId) => messageId + "@" + this.GetPrimaryKeyString();

    public Task<bool> IsMember(string connectionId) => Task.FromResult(Members.Contains(connectionId));

    public Task<IReadOnlyList<string>> GetMembers(string? after, int limit) =>
        Task.FromResult<IReadOnlyList<string>>([.. Members
            .Where(m => after is null || string.CompareOrdinal(m, after) > 0)
            .Order(StringComparer.Ordinal)
            .Take(limit)]);
}

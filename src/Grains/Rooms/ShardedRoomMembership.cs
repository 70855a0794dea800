using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// The members of a large room, in <see cref="IRoomShardGrain"/>s; the room's state is the shard map (index → depth,
/// see <see cref="RoomShards"/>), written only when a shard splits. A join writes one shard, so joins to different
/// shards run together.
/// </summary>
internal sealed class ShardedRoomMembership(RoomContext room, int count) : RoomMembership
{
    private int _count = count;
    // Joins run together; counting those in flight keeps the member limit strict.
    private int _joinsInFlight;

    private Dictionary<int, int> Shards => room.State.State.Shards;

    public override bool ChangesRunAlone => false;

    public override int Count => _count;

    /// <summary>
    /// Settling also finishes a split that a crash interrupted: a shard may still hold members it handed on. Nothing is
    /// lost (moved members are stored in the new shard before the map names it); a hand-over that a crash cut short
    /// is not resumed, so order across it is best effort.
    /// </summary>
    public static async Task<RoomMembership> SettleAsync(RoomContext room)
    {
        var counts = await Task.WhenAll(room.State.State.Shards.Select(s => room.Shard(s.Key).Settle(s.Value)));
        return new ShardedRoomMembership(room, counts.Sum());
    }

    public override async Task<MemberAdded> AddAsync(string connectionId, IReadOnlyList<OutboundMessage> replay)
    {
        var index = ShardOf(connectionId);
        ShardChange change;
        _joinsInFlight++;
        try
        {
            if (room.MaxMembers > 0 && _count + _joinsInFlight > room.MaxMembers && !await room.Shard(index).IsMember(connectionId))
            {
                return MemberAdded.Full;
            }
            change = await room.Shard(index).Add(connectionId, replay.Count == 0 ? null : replay);
        }
        finally
        {
            _joinsInFlight--;
        }
        if (change.Changed) _count++;
        return new MemberAdded(_count, change.Changed, OverfullShard: change.Count > room.Options.ShardCapacity ? index : null);
    }

    /// <summary>
    /// Splits a full shard in two: copy the moving half to the new sibling, record the new map, then let the old shard
    /// drop what it gave away. A crash before the map is written leaves the old shard complete; one after it is settled
    /// when the room next activates.
    /// </summary>
    public override async Task FollowUpAsync(MemberAdded added)
    {
        if (added.OverfullShard is not { } index) return;
        using (await room.Gate.ExclusiveAsync())
        {
            // Another join may have split it while this one waited: ask the shard how full it is now.
            if (!Shards.TryGetValue(index, out var current) || current >= RoomShards.MaxDepth) return;
            if (await room.Shard(index).Settle(current) > room.Options.ShardCapacity) await SplitAsync(index);
        }
    }

    private async Task SplitAsync(int index)
    {
        var depth = Shards[index] + 1;
        var sibling = index + (1 << (depth - 1));
        var moving = await room.Shard(index).MembersFor(sibling, depth);
        await room.Shard(sibling).HandOver(moving, depth, fromShard: index);
        Shards[index] = depth;
        Shards[sibling] = depth;
        try
        {
            await room.State.WriteStateAsync();
        }
        catch
        {
            // Not split in storage: not in memory either (the sibling's copy is replaced by the next attempt).
            Shards[index] = depth - 1;
            Shards.Remove(sibling);
            throw;
        }
        await room.Shard(index).Settle(depth);
    }

    public override async Task<bool> RemoveAsync(string connectionId)
    {
        if (!(await room.Shard(ShardOf(connectionId)).Remove(connectionId)).Changed) return false;
        _count--;
        return true;
    }

    public override async ValueTask<bool> ContainsAsync(string connectionId) => await room.Shard(ShardOf(connectionId)).IsMember(connectionId);

    public override async ValueTask<int> PublishAsync(OutboundMessage message, string? exceptConnectionId, bool track)
    {
        var counts = await Task.WhenAll(Shards.Keys.Select(i => room.Shard(i).Publish(message, exceptConnectionId, track)));
        return counts.Sum();
    }

    public override async Task<DeliverySummary> AwaitDeliveryAsync(string messageId, TimeSpan timeout)
    {
        int[] shards = [.. Shards.Keys];
        // A message published before the room sharded was queued by the room itself, under its id: the shards know
        // nothing of it, and a sum of their "not tracked" alone would read as complete with nothing delivered.
        var own = room.Outbox.WaitAsync(messageId, timeout);
        var parts = await Task.WhenAll(shards.Select(i => room.Shard(i).AwaitDelivery(messageId, timeout)).Append(own));
        return DeliverySummary.Sum(messageId, parts);
    }

    public override async ValueTask<IEnumerable<string>> MembersAfterAsync(string? after, int limit) =>
        (await Task.WhenAll(Shards.Keys.Select(i => room.Shard(i).GetMembers(after, limit)))).SelectMany(p => p);

    private int ShardOf(string connectionId)
    {
        var hash = RoomShards.Hash(connectionId);
        // Extendible hashing: exactly one depth gives an index that is a shard of this room.
        for (var depth = RoomShards.MaxDepth; depth >= 0; depth--)
        {
            var index = RoomShards.IndexAt(hash, depth);
            if (Shards.TryGetValue(index, out var d) && d == depth) return index;
        }
        throw new InvalidOperationException($"Room '{room.Name}' has no shard for a connection id: its shard map is corrupt.");
    }
}

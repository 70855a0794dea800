using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// The members of a small room, in its own member set (<see cref="IMemberSets"/>): a change writes one member. Changes
/// run alone, so the count a join checks against the limits is exact. Past <see cref="RoomOptions.ShardThreshold"/> it
/// moves the members to shards.
/// </summary>
internal sealed partial class SmallRoomMembership(RoomContext room, MemberSet members) : RoomMembership
{
    public static async Task<SmallRoomMembership> LoadAsync(RoomContext room)
    {
        var members = new MemberSet(room.Sets, MemberSet.OfRoom(room.Name));
        await members.LoadAsync();
        return new SmallRoomMembership(room, members);
    }

    public override bool ChangesRunAlone => true;

    public override int Count => members.Count;

    public override async Task<MemberAdded> AddAsync(string connectionId, IReadOnlyList<OutboundMessage> replay)
    {
        var added = false;
        if (!members.Contains(connectionId))
        {
            if (room.MaxMembers > 0 && members.Count >= room.MaxMembers) return MemberAdded.Full;
            if (members.Count >= room.Options.ShardThreshold) return new MemberAdded(members.Count, Added: false, Successor: await ShardAsync());
            added = await members.AddAsync(connectionId);
        }
        // The room's own stream: the dispatcher keeps these ahead of the room's next posts to this member.
        foreach (var message in replay) room.Outbox.Post(message, [connectionId]);
        return new MemberAdded(members.Count, Added: added);
    }

    public override Task FollowUpAsync(MemberAdded added) => Task.CompletedTask;

    public override Task<bool> RemoveAsync(string connectionId) => members.RemoveAsync(connectionId);

    public override ValueTask<bool> ContainsAsync(string connectionId) => ValueTask.FromResult(members.Contains(connectionId));

    public override ValueTask<int> PublishAsync(OutboundMessage message, string? exceptConnectionId, bool track)
    {
        var recipients = exceptConnectionId is null ? members.Members : members.Members.Where(m => m != exceptConnectionId);
        return ValueTask.FromResult(room.Outbox.Post(message, recipients, track));
    }

    public override Task<DeliverySummary> AwaitDeliveryAsync(string messageId, TimeSpan timeout) => room.Outbox.WaitAsync(messageId, timeout);

    public override ValueTask<IEnumerable<string>> MembersAfterAsync(string? after, int limit) =>
        ValueTask.FromResult(members.Members.Where(m => after is null || string.CompareOrdinal(m, after) > 0));

    /// <summary>
    /// Moves the members into <see cref="RoomOptions.InitialShards"/> shards. The shards are filled before the room
    /// records them, so a crash in between leaves the room small and complete; the next attempt replaces the shards.
    /// The room's own set goes last. It does not wait for the posts this room queued: each shard holds its own posts
    /// until those have ended.
    /// </summary>
    private async Task<RoomMembership> ShardAsync()
    {
        var depth = int.Log2(room.Options.InitialShards);
        var groups = Enumerable.Range(0, room.Options.InitialShards).ToDictionary(i => i, _ => new List<string>());
        foreach (var member in members.Members) groups[RoomShards.IndexAt(RoomShards.Hash(member), depth)].Add(member);
        await Task.WhenAll(groups.Select(g => room.Shard(g.Key).HandOver(g.Value, depth, fromShard: null)));

        room.State.State.Shards = groups.Keys.ToDictionary(i => i, _ => depth);
        try
        {
            await room.State.WriteStateAsync();
        }
        catch
        {
            // Still small in storage: stay small in memory too.
            room.State.State.Shards = [];
            throw;
        }
        var count = members.Count;
        try
        {
            await members.DeleteAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The room is sharded already (its map is stored) and never reads its own set again: a set left behind
            // wastes space but changes nothing, so the join goes on.
            LogOwnSetNotDeleted(room.Logger, e, room.Name);
        }
        return new ShardedRoomMembership(room, count);
    }
}

using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// The members of a small room, in the room's own state: written whole on every change, so changes run alone. Past
/// <see cref="RoomOptions.ShardThreshold"/> it moves the members to shards.
/// </summary>
internal sealed class SmallRoomMembership(RoomContext room) : RoomMembership
{
    private HashSet<string> Members => room.State.State.Members;

    public override bool ChangesRunAlone => true;

    public override int Count => Members.Count;

    public override async Task<MemberAdded> AddAsync(string connectionId, IReadOnlyList<OutboundMessage> replay)
    {
        var added = false;
        if (!Members.Contains(connectionId))
        {
            if (room.MaxMembers > 0 && Members.Count >= room.MaxMembers) return MemberAdded.Full;
            if (Members.Count >= room.Options.ShardThreshold) return new MemberAdded(Members.Count, Added: false, Successor: await ShardAsync());
            Members.Add(connectionId);
            await room.State.WriteStateAsync();
            added = true;
        }
        // The room's own stream: the dispatcher keeps these ahead of the room's next posts to this member.
        foreach (var message in replay) room.Outbox.Post(message, [connectionId]);
        return new MemberAdded(Members.Count, Added: added);
    }

    public override Task FollowUpAsync(MemberAdded added) => Task.CompletedTask;

    public override async Task<bool> RemoveAsync(string connectionId)
    {
        if (!Members.Remove(connectionId)) return false;
        if (Members.Count == 0)
        {
            await room.State.ClearStateAsync();
        }
        else
        {
            await room.State.WriteStateAsync();
        }
        return true;
    }

    public override ValueTask<bool> ContainsAsync(string connectionId) => ValueTask.FromResult(Members.Contains(connectionId));

    public override ValueTask<int> PublishAsync(OutboundMessage message, string? exceptConnectionId, bool track)
    {
        var recipients = exceptConnectionId is null ? Members : Members.Where(m => m != exceptConnectionId);
        return ValueTask.FromResult(room.Outbox.Post(message, recipients, track));
    }

    public override Task<DeliverySummary> AwaitDeliveryAsync(string messageId, TimeSpan timeout) => room.Outbox.WaitAsync(messageId, timeout);

    public override ValueTask<IEnumerable<string>> MembersAfterAsync(string? after, int limit) =>
        ValueTask.FromResult(Members.Where(m => after is null || string.CompareOrdinal(m, after) > 0));

    /// <summary>
    /// Moves the members into <see cref="RoomOptions.InitialShards"/> shards. The shards are filled before the room
    /// records them, so a crash in between leaves the room small and complete; the next attempt replaces the shards.
    /// It does not wait for the posts this room queued: each shard holds its own posts until those have ended.
    /// </summary>
    private async Task<RoomMembership> ShardAsync()
    {
        var depth = int.Log2(room.Options.InitialShards);
        var groups = Enumerable.Range(0, room.Options.InitialShards).ToDictionary(i => i, _ => new List<string>());
        foreach (var member in Members) groups[RoomShards.IndexAt(RoomShards.Hash(member), depth)].Add(member);
        await Task.WhenAll(groups.Select(g => room.Shard(g.Key).HandOver(g.Value, depth, fromShard: null)));

        var members = Members;
        room.State.State.Shards = groups.Keys.ToDictionary(i => i, _ => depth);
        room.State.State.Members = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await room.State.WriteStateAsync();
        }
        catch
        {
            // Still small in storage: stay small in memory too.
            room.State.State.Shards = [];
            room.State.State.Members = members;
            throw;
        }
        return new ShardedRoomMembership(room, members.Count);
    }
}

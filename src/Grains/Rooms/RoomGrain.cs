using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// A room. A small room keeps its members in its own state. Past <see cref="RoomOptions.ShardThreshold"/> the members
/// move to <see cref="IRoomShardGrain"/>s and the room only routes: its state is then the shard map, written when a
/// shard splits, so a join writes one shard (at most about <see cref="RoomOptions.ShardCapacity"/> ids), never the
/// whole room.
/// The grain is reentrant so that joins to different shards of a big room proceed together instead of queueing behind
/// one another's storage writes; <see cref="RoomGate"/> makes what changes the room's own state (a small room's list,
/// sharding, splitting) run alone. One sender's messages stay in order: its connection grain awaits each publish,
/// and a publish returns only once every shard has queued the message (or, during a hand-over, holds it in order:
/// members moving to a shard on another silo get their posts from there only after those queued for them here ended).
/// </summary>
[GrainType(TetherGrainTypes.Room)]
[Reentrant]
public sealed class RoomGrain(
    [PersistentState("room", TetherStorage.Name)] IPersistentState<RoomState> state,
    IDeliveryDispatcher dispatcher,
    IOptions<RoomOptions> roomOptions,
    IOptions<LimitOptions> limitOptions) : Grain, IRoomGrain
{
    private readonly RoomOptions _options = roomOptions.Value;
    private readonly int _maxMembers = limitOptions.Value.MaxMembersPerRoom;
    private readonly RoomGate _gate = new();
    private int _shardedCount;
    // Joins of a sharded room run together (shared gate); counting those in flight keeps the member limit strict.
    private int _joinsInFlight;
    // The posts this room queued itself while it was small: its shards wait for them before posting (QueuedPostsEnded).
    private readonly QueuedPosts _posts = new();
    private HashSet<string> Members => state.State.Members;
    private Dictionary<int, int> Shards => state.State.Shards;
    private bool Sharded => Shards.Count > 0;
    private int MemberCount => Sharded ? _shardedCount : Members.Count;
    private string? _stream;
    private string Name => this.GetPrimaryKeyString();
    private string Stream => _stream ??= "room:" + Name;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!Sharded) return;
        // Settling also finishes a split that a crash interrupted: a shard may still hold members it handed on. Nothing
        // is lost (the moved members are stored in the new shard before the map names it), but a hand-over that a
        // crash cut short is not resumed: order across it is best effort (the old posts died with their silo, or
        // may still be queued on a surviving one while the new shard posts).
        var counts = await Task.WhenAll(Shards.Select(s => Shard(s.Key).Settle(s.Value)));
        _shardedCount = counts.Sum();
    }

    public async Task<int> Join(string connectionId, string? user)
    {
        while (true)
        {
            if (!Sharded)
            {
                using (await _gate.ExclusiveAsync())
                {
                    if (Sharded) continue;
                    if (Members.Contains(connectionId)) return Members.Count;
                    if (_maxMembers > 0 && Members.Count >= _maxMembers) return IRoomGrain.Full;
                    if (Members.Count >= _options.ShardThreshold)
                    {
                        await ShardAsync();
                        continue;
                    }
                    Members.Add(connectionId);
                    await state.WriteStateAsync();
                    await AnnounceAsync("join", connectionId, user);
                    return Members.Count;
                }
            }

            int index;
            ShardChange change;
            using (await _gate.SharedAsync())
            {
                index = ShardOf(connectionId);
                _joinsInFlight++;
                try
                {
                    if (_maxMembers > 0 && _shardedCount + _joinsInFlight > _maxMembers && !await Shard(index).IsMember(connectionId))
                    {
                        return IRoomGrain.Full;
                    }
                    change = await Shard(index).Add(connectionId);
                }
                finally
                {
                    _joinsInFlight--;
                }
                if (change.Changed)
                {
                    _shardedCount++;
                    await AnnounceAsync("join", connectionId, user);
                }
            }
            if (change.Count > _options.ShardCapacity) await SplitIfFullAsync(index);
            return _shardedCount;
        }
    }

    public async Task<bool> Leave(string connectionId, string? user, bool notify)
    {
        while (true)
        {
            if (Sharded)
            {
                using (await _gate.SharedAsync())
                {
                    if (!(await Shard(ShardOf(connectionId)).Remove(connectionId)).Changed) return false;
                    _shardedCount--;
                    if (notify) await AnnounceAsync("leave", connectionId, user);
                    return true;
                }
            }

            using (await _gate.ExclusiveAsync())
            {
                if (Sharded) continue;
                if (!Members.Remove(connectionId)) return false;
                if (Members.Count == 0)
                {
                    await state.ClearStateAsync();
                }
                else
                {
                    await state.WriteStateAsync();
                    if (notify) await AnnounceAsync("leave", connectionId, user);
                }
                return true;
            }
        }
    }

    public async Task<PublishReceipt> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery)
    {
        // Once per message, before the gate (joins and leaves are not held while this sender is slowed). A sharded
        // room's posts are queued by its shards, on their silos; this silo's queue stands in for them.
        await dispatcher.AdmitAsync(Stream);
        using (await _gate.SharedAsync())
        {
            if (Sharded)
            {
                var counts = await Task.WhenAll(Shards.Keys.Select(i => Shard(i).Publish(message, exceptConnectionId, trackDelivery)));
                return new PublishReceipt(message.Id, counts.Sum());
            }
            var recipients = exceptConnectionId is null ? Members : Members.Where(m => m != exceptConnectionId);
            var dispatched = dispatcher.Dispatch(message, Stream, Name, recipients, trackDelivery);
            _posts.Add(dispatched.Ended);
            return new PublishReceipt(message.Id, dispatched.Recipients);
        }
    }

    public async Task<DeliverySummary> AwaitDelivery(string messageId, TimeSpan timeout)
    {
        int[] shards;
        using (await _gate.SharedAsync())
        {
            if (!Sharded) return await dispatcher.WaitAsync(messageId, timeout);
            shards = [.. Shards.Keys];
        }
        var parts = await Task.WhenAll(shards.Select(i => Shard(i).AwaitDelivery(messageId, timeout)));
        return parts.Aggregate(new DeliverySummary(messageId, 0, 0, 0, 0, Complete: true), (sum, p) => sum with
        {
            Recipients = sum.Recipients + p.Recipients,
            Delivered = sum.Delivered + p.Delivered,
            Gone = sum.Gone + p.Gone,
            Failed = sum.Failed + p.Failed,
            // A shard with no recipients reports "not tracked"; that is complete too.
            Complete = sum.Complete && (p.Complete || p.Recipients == 0),
        });
    }

    public Task<bool> QueuedPostsEnded(TimeSpan timeout) => TaskWaits.WithinAsync(_posts.AllEnded(), timeout);

    public Task<int> Count() => Task.FromResult(MemberCount);

    public async Task<bool> IsMember(string connectionId)
    {
        using (await _gate.SharedAsync())
        {
            return Sharded ? await Shard(ShardOf(connectionId)).IsMember(connectionId) : Members.Contains(connectionId);
        }
    }

    public async Task<MemberPage> GetMembers(string? after, int limit)
    {
        using var shared = await _gate.SharedAsync();
        IEnumerable<string> candidates = Sharded
            ? (await Task.WhenAll(Shards.Keys.Select(i => Shard(i).GetMembers(after, limit + 1)))).SelectMany(p => p)
            : Members.Where(m => after is null || string.CompareOrdinal(m, after) > 0);
        var page = candidates.Order(StringComparer.Ordinal).Take(limit + 1).ToList();
        var next = page.Count > limit ? page[limit - 1] : null;
        if (page.Count > limit) page.RemoveAt(limit);
        return new MemberPage(MemberCount, page, next);
    }

    /// <summary>
    /// Moves the members into <see cref="RoomOptions.InitialShards"/> shards. The shards are filled before the room
    /// records them, so a crash in between leaves the room small and complete; the next attempt replaces the shards.
    /// It does not wait for the posts this room queued: each shard holds its own posts until those have ended.
    /// </summary>
    private async Task ShardAsync()
    {
        var depth = int.Log2(_options.InitialShards);
        var groups = Enumerable.Range(0, _options.InitialShards).ToDictionary(i => i, _ => new List<string>());
        foreach (var member in Members) groups[RoomShards.IndexAt(RoomShards.Hash(member), depth)].Add(member);
        await Task.WhenAll(groups.Select(g => Shard(g.Key).HandOver(g.Value, depth, fromShard: null)));

        _shardedCount = Members.Count;
        state.State.Shards = groups.Keys.ToDictionary(i => i, _ => depth);
        state.State.Members = new HashSet<string>(StringComparer.Ordinal);
        await state.WriteStateAsync();
    }

    /// <summary>
    /// Splits a full shard in two: copy the moving half to the new sibling, record the new map, then let the old shard
    /// drop what it gave away. A crash before the map is written leaves the old shard complete; one after it is settled
    /// when the room next activates.
    /// </summary>
    private async Task SplitIfFullAsync(int index)
    {
        using (await _gate.ExclusiveAsync())
        {
            // Another join may have split it while this one waited: ask the shard how full it is now.
            if (!Shards.TryGetValue(index, out var current) || current >= RoomShards.MaxDepth) return;
            if (await Shard(index).Settle(current) > _options.ShardCapacity) await SplitAsync(index);
        }
    }

    private async Task SplitAsync(int index)
    {
        var depth = Shards[index] + 1;
        var sibling = index + (1 << (depth - 1));
        var moving = await Shard(index).MembersFor(sibling, depth);
        await Shard(sibling).HandOver(moving, depth, fromShard: index);
        Shards[index] = depth;
        Shards[sibling] = depth;
        await state.WriteStateAsync();
        await Shard(index).Settle(depth);
    }

    private int ShardOf(string connectionId)
    {
        var hash = RoomShards.Hash(connectionId);
        // Extendible hashing: exactly one depth gives an index that is a shard of this room.
        for (var depth = RoomShards.MaxDepth; depth >= 0; depth--)
        {
            var index = RoomShards.IndexAt(hash, depth);
            if (Shards.TryGetValue(index, out var d) && d == depth) return index;
        }
        throw new InvalidOperationException($"Room '{Name}' has no shard for a connection id: its shard map is corrupt.");
    }

    private IRoomShardGrain Shard(int index) => GrainFactory.RoomShard(RoomShards.Key(Name, index));

    /// <summary>
    /// Presence notices go to the other members of named rooms only: never the default room, and never a room above
    /// the configured size, where every join would cost one post per member.
    /// </summary>
    private async Task AnnounceAsync(string presenceEvent, string connectionId, string? user)
    {
        if (!_options.PresenceNotices || Name == _options.DefaultRoom || MemberCount > _options.PresenceMaxMembers) return;
        var notice = Envelopes.Presence(presenceEvent, Name, connectionId, user);
        if (Sharded)
        {
            await Task.WhenAll(Shards.Keys.Select(i => Shard(i).Publish(notice, connectionId, trackDelivery: false)));
            return;
        }
        _posts.Add(dispatcher.Dispatch(notice, Stream, Name, Members.Where(m => m != connectionId), track: false).Ended);
    }
}

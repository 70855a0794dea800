using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// A room: its members (a <see cref="RoomMembership"/>, small or sharded), its presence notices, and the way in for
/// its messages.
/// The grain is reentrant so that joins to different shards of a big room proceed together instead of queueing behind
/// one another's storage writes; <see cref="RoomGate"/> makes what changes the room's own state run alone. One
/// sender's messages stay in order: its connection grain awaits each publish, and a publish returns only once every
/// member's post is queued (or held in order by a shard taking members over, see <see cref="IRoomShardGrain.HandOver"/>).
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
    private readonly RoomGate _gate = new();
    // The posts this room queued itself while it was small: its shards wait for them before posting.
    private Outbox _outbox = null!;
    private RoomMembership _members = null!;

    private string Name => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _outbox = Outbox.ForRoom(dispatcher, Name);
        var room = new RoomContext(Name, state, GrainFactory, _gate, _outbox, _options, limitOptions.Value.MaxMembersPerRoom);
        _members = await RoomMembership.RestoreAsync(room);
    }

    public async Task<int> Join(string connectionId, string? user)
    {
        while (true)
        {
            var members = _members;
            MemberAdded added;
            using (await _gate.EnterAsync(exclusive: members.ChangesRunAlone))
            {
                // The room moved to shards while this join waited: join those.
                if (members != _members) continue;
                added = await members.AddAsync(connectionId);
                if (added.Successor is { } successor)
                {
                    _members = successor;
                    continue;
                }
                if (added.Count == IRoomGrain.Full) return IRoomGrain.Full;
                if (added.Added) await AnnounceAsync("join", connectionId, user);
            }
            await members.FollowUpAsync(added);
            return added.Count;
        }
    }

    public async Task<bool> Leave(string connectionId, string? user, bool notify)
    {
        while (true)
        {
            var members = _members;
            using (await _gate.EnterAsync(exclusive: members.ChangesRunAlone))
            {
                if (members != _members) continue;
                if (!await members.RemoveAsync(connectionId)) return false;
                if (notify && members.Count > 0) await AnnounceAsync("leave", connectionId, user);
                return true;
            }
        }
    }

    public async Task<PublishReceipt> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery)
    {
        // Once per message, before the gate (joins and leaves are not held while this sender is slowed). A sharded
        // room's posts are queued by its shards, on their silos; this silo's queue stands in for them.
        await _outbox.AdmitAsync();
        using (await _gate.SharedAsync())
        {
            return new PublishReceipt(message.Id, await _members.PublishAsync(message, exceptConnectionId, trackDelivery));
        }
    }

    public async Task<DeliverySummary> AwaitDelivery(string messageId, TimeSpan timeout)
    {
        Task<DeliverySummary> waiting;
        using (await _gate.SharedAsync())
        {
            waiting = _members.AwaitDeliveryAsync(messageId, timeout);
        }
        return await waiting;
    }

    public Task<bool> QueuedPostsEnded(TimeSpan timeout) => TaskWaits.WithinAsync(_outbox.AllEnded(), timeout);

    public Task<int> Count() => Task.FromResult(_members.Count);

    public async Task<bool> IsMember(string connectionId)
    {
        using (await _gate.SharedAsync())
        {
            return await _members.ContainsAsync(connectionId);
        }
    }

    public async Task<MemberPage> GetMembers(string? after, int limit)
    {
        using var shared = await _gate.SharedAsync();
        var candidates = await _members.MembersAfterAsync(after, limit + 1);
        var page = candidates.Order(StringComparer.Ordinal).Take(limit + 1).ToList();
        var next = page.Count > limit ? page[limit - 1] : null;
        if (page.Count > limit) page.RemoveAt(limit);
        return new MemberPage(_members.Count, page, next);
    }

    /// <summary>
    /// Presence notices go to the other members of named rooms only: never the default room, and never a room above
    /// the configured size, where every join would cost one post per member.
    /// </summary>
    private async Task AnnounceAsync(string presenceEvent, string connectionId, string? user)
    {
        if (!_options.PresenceNotices || Name == _options.DefaultRoom || _members.Count > _options.PresenceMaxMembers) return;
        await _members.PublishAsync(Envelopes.Presence(presenceEvent, Name, connectionId, user), connectionId, track: false);
    }
}

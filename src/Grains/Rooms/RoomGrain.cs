using Microsoft.Extensions.Logging;
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
public sealed partial class RoomGrain(
    [PersistentState("room", TetherStorage.Name)] IPersistentState<RoomState> state,
    IDeliveryDispatcher dispatcher,
    IOptions<RoomOptions> roomOptions,
    IOptions<LimitOptions> limitOptions,
    IHistoryStore history,
    IOptions<HistoryOptions> historyOptions,
    TimeProvider time,
    IMemberSets memberSets,
    ILogger<RoomGrain> logger,
    PresenceBacklog presenceBacklog,
    IClusterMembershipService membership) : Grain, IRoomGrain
{
    private readonly RoomOptions _options = roomOptions.Value;
    // Seq, epoch and history of the room's messages; their posts run under the gate, shared.
    private MessageStream _stream = null!;
    private readonly RoomGate _gate = new();
    // The posts this room queued itself while it was small: its shards wait for them before posting.
    private Outbox _outbox = null!;
    private RoomMembership _members = null!;
    private RoomPresence _presence = null!;
    // Set once this activation's mark is stored: removed again when its posts ended.
    private ActivationMarks? _marks;

    private string Name => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _outbox = Outbox.ForRoom(dispatcher, Name);
        _presence = new RoomPresence(Name, _options, time, presenceBacklog, _outbox.AdmitPresenceAsync, PostPresenceAsync);
        var room = new RoomContext(Name, state, memberSets, GrainFactory, _gate, _outbox, _options, limitOptions.Value.MaxMembersPerRoom, logger);
        var marks = new ActivationMarks(memberSets, membership, ActivationMarks.OfRoom(Name), GrainContext.Address.SiloAddress!, GrainContext.ActivationId.ToString());
        // Stored while the members load, so a small room's frequent activations pay no extra round trip in sequence.
        var entering = marks.EnterAsync();
        IReadOnlyList<string> earlier;
        try
        {
            _members = await RoomMembership.RestoreAsync(room);
            _stream = new MessageStream(HistoryStreams.Room(Name), history, historyOptions.Value, time, PostAsync, _gate);
            await _stream.OpenAsync();
            earlier = await entering;
        }
        catch
        {
            // No deactivation follows a failed activation: take the mark back, or the next one would wait for it.
            await LeaveQuietlyAsync(marks, entering);
            throw;
        }
        _marks = marks;
        // An earlier activation may still be posting from its silo. Waiting here, before any call is served, is what
        // callers see when the room moves in the ordinary way (they wait for its deactivation, see OnDeactivateAsync).
        if (earlier.Count > 0) await EarlierActivationsEndedAsync(earlier, cancellationToken);
    }

    private async Task EarlierActivationsEndedAsync(IReadOnlyList<string> earlier, CancellationToken cancellationToken)
    {
        var timeout = _options.ShardHandOverTimeout;
        var (ended, failure) = await _marks!.WaitForEarlierAsync(earlier, timeout, cancellationToken);
        // Storage failing: serve rather than hold forever (order is then best effort).
        if (failure is not null) LogEarlierActivationsUnknown(failure, Name);
        else if (!ended) LogEarlierActivationsSlow(Name, earlier.Count, timeout);
    }

    private async Task LeaveQuietlyAsync(ActivationMarks marks, Task entering)
    {
        await entering.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        if (await marks.TryLeaveAsync() is { } failure) LogMarkNotRemoved(failure, Name);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The next activation may be on another silo and post at once: let the posts this one queued end first (its
        // shards, when sharded, wait for the room's posts themselves). Calls wait for the deactivation meanwhile.
        if (!await TaskWaits.WithinAsync(_outbox.AllEnded(), _options.ShardHandOverTimeout))
        {
            LogMovedBeforePostsEnded(Name, _options.ShardHandOverTimeout, reason.Description);
        }
        // A mark not removed makes the next activation wait for it until Rooms__ShardHandOverTimeout.
        if (_marks is { } marks && await marks.TryLeaveAsync() is { } failure) LogMarkNotRemoved(failure, Name);
    }

    public async Task<int> Join(string connectionId, string? user) => (await JoinFrom(connectionId, user, since: null)).Members;

    public async Task<RoomJoin> JoinFrom(string connectionId, string? user, StreamPosition? since)
    {
        while (true)
        {
            var members = _members;
            MemberAdded added;
            StreamResume? resume = null;
            string epoch;
            long seq;
            // A join with since runs alone even in a sharded room: no post may fall between the replay and the add.
            using (await _gate.EnterAsync(exclusive: members.ChangesRunAlone || since is not null))
            {
                // The room moved to shards while this join waited: join those.
                if (members != _members) continue;
                IReadOnlyList<OutboundMessage> replay = [];
                if (since is not null) (resume, replay) = await _stream.ReplayFromAsync(since);
                added = await members.AddAsync(connectionId, replay);
                if (added.Successor is { } successor)
                {
                    _members = successor;
                    continue;
                }
                epoch = _stream.Epoch;
                seq = _stream.Posted;
                if (added.Count == IRoomGrain.Full) return new RoomJoin(IRoomGrain.Full, epoch, seq, null, null);
                if (added.Added) Announce("join", connectionId, user);
            }
            await members.FollowUpAsync(added);
            return new RoomJoin(added.Count, epoch, seq, resume?.Recovered, resume?.Replayed);
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
                if (notify && members.Count > 0) Announce("leave", connectionId, user);
                return true;
            }
        }
    }

    public async Task<PublishReceipt> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery, string? requestId = null)
    {
        // Once per message, before the gate (joins and leaves are not held while this sender is slowed). A sharded
        // room's posts are queued by its shards, on their silos; this silo's queue stands in for them.
        await _outbox.AdmitAsync();
        var expected = Math.Max(0, _members.Count - (exceptConnectionId is null ? 0 : 1));
        return await _stream.AcceptAsync(message, exceptConnectionId, trackDelivery, requestId, expected);
    }

    /// <summary>Posts a group of accepted messages in seq order (the stream holds the gate, shared, meanwhile).</summary>
    private async Task<int[]> PostAsync(IReadOnlyList<Sequenced> group)
    {
        // Every post is issued before any is awaited: a sharded room's shards get the group in order without a
        // round trip per message.
        var posts = new Task<int>[group.Count];
        for (var i = 0; i < group.Count; i++) posts[i] = _members.PublishAsync(group[i].Message, group[i].Except, group[i].Track).AsTask();
        return await Task.WhenAll(posts);
    }

    public async Task<HistoryPage> History(long? before, int limit, int maxBytes)
    {
        var upTo = Math.Min(before is { } b ? b - 1 : long.MaxValue, _stream.Posted);
        // One more than asked, to know whether older ones remain.
        var entries = await _stream.ReadAsync(Math.Max(0, upTo - limit - 1), upTo, limit + 1);
        var more = entries.Count > limit;
        var page = entries.Skip(Math.Max(0, entries.Count - limit)).ToList();
        var bytes = page.Sum(e => (long)e.Payload.Length + 1);
        while (page.Count > 0 && bytes > maxBytes)
        {
            bytes -= page[0].Payload.Length + 1;
            page.RemoveAt(0);
            more = true;
        }
        return new HistoryPage(_stream.Epoch, _stream.Posted, [.. page.Select(e => e.Payload)], more);
    }

    public async Task<HistoryPage> Messages(long since, int limit)
    {
        var entries = await _stream.ReadAsync(since, long.MaxValue, limit);
        var last = entries.Count > 0 ? entries[^1].Seq : since;
        return new HistoryPage(_stream.Epoch, _stream.Posted, [.. entries.Select(e => e.Payload)], last < _stream.Posted && entries.Count == limit);
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
    /// the configured size, where every join would cost one post per member. <see cref="RoomPresence"/> coalesces and
    /// caps them, and sends them later, through <see cref="PostPresenceAsync"/>.
    /// </summary>
    private void Announce(string presenceEvent, string connectionId, string? user)
    {
        if (!_options.PresenceNotices || Name == _options.DefaultRoom || _members.Count > _options.PresenceMaxMembers) return;
        // Nobody else to tell (the first member joined, the last one left): no notice, and the window stays open.
        if (_members.Count - (presenceEvent == "join" ? 1 : 0) <= 0) return;
        _presence.Announce(presenceEvent, connectionId, user);
    }

    private async Task<int> PostPresenceAsync(OutboundMessage notice, string about)
    {
        using (await _gate.SharedAsync())
        {
            // Checked again: the room may have grown past the limit while the notice waited for its window.
            if (_members.Count > _options.PresenceMaxMembers) return 0;
            return await _members.PublishAsync(notice, about, track: false);
        }
    }
}

using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// One slice of a large room. <see cref="RoomShardPlacement"/> spreads a room's shards over the silos, and each shard
/// posts through its own silo's dispatcher, so one room's fan-out is shared by the cluster.
/// <para>
/// A dispatcher keeps one recipient's posts in order only within its silo, so members moving here are posted to only
/// after their predecessor's queued posts have ended (<see cref="HandOver"/>). Publishes meanwhile are accepted and
/// counted at once, and held in order (see <c>docs/decisions/shard-hand-over.md</c>).
/// </para>
/// </summary>
[GrainType(TetherGrainTypes.RoomShard)]
[RoomShardPlacement]
public sealed partial class RoomShardGrain(
    [PersistentState("roomshard", TetherStorage.Name)] IPersistentState<RoomShardState> state,
    IDeliveryDispatcher dispatcher,
    IOptions<RoomOptions> roomOptions,
    ILogger<RoomShardGrain> logger,
    IMemberSets memberSets,
    RoomShardRebalancer rebalancer,
    IClusterMembershipService membership) : Grain, IRoomShardGrain
{
    private readonly RoomOptions _options = roomOptions.Value;
    private Outbox? _outbox;
    // Publishes accepted during hand-overs, in order, each with its recipients as they were when it was accepted.
    private readonly Queue<HeldMessage> _held = new();
    // Tracked messages among them (tracking key → recipients), so AwaitDelivery knows they are coming.
    private readonly Dictionary<string, int> _heldTracked = new(StringComparer.Ordinal);
    private long _heldBytes;
    // Hand-overs numbered in arrival order; those up to _handedOver have passed their wait and posted what they held.
    private int _handOvers;
    private int _handedOver;
    private int _valveWarnedFor;
    // Completes when the latest hand-over has passed (each one waits for the one before it).
    private Task _handOver = Task.CompletedTask;

    // Stored one member at a time; the grain state keeps only the depth.
    private MemberSet _members = null!;
    // Set once this activation's mark is stored: removed again when its posts ended.
    private ActivationMarks? _marks;
    // Tracked messages posted from here, oldest first: their summaries stay in this silo's dispatcher until read or
    // expired, and the shard does not move meanwhile (AwaitDelivery at its next activation would not find them).
    private readonly Queue<string> _trackedHere = new();

    private IReadOnlyCollection<string> Members => _members.Members;

    private bool Holding => _handedOver < _handOvers;

    private (int Index, string Room) Key => RoomShards.ParseKey(this.GetPrimaryKeyString());

    private Outbox Outbox => _outbox ??= Outbox.ForRoom(dispatcher, Key.Room);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _members = new MemberSet(memberSets, MemberSet.OfShard(this.GetPrimaryKeyString()));
        await _members.LoadAsync();
        var marks = new ActivationMarks(memberSets, membership, ActivationMarks.OfShard(this.GetPrimaryKeyString()), GrainContext.Address.SiloAddress!, GrainContext.ActivationId.ToString());
        var earlier = await marks.EnterAsync();
        _marks = marks;
        // An earlier activation may still be posting from its silo: hold posts as for a hand-over until it ended.
        if (earlier.Count > 0)
        {
            var handOver = ++_handOvers;
            _handOver = PassEarlierActivationsAsync(_handOver, handOver, earlier);
        }
        rebalancer.Activated(this.GetPrimaryKeyString());
    }

    private async Task PassEarlierActivationsAsync(Task previous, int handOver, IReadOnlyList<string> earlier)
    {
        var ended = EarlierActivationsEndedAsync(earlier);
        await previous.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        await ended.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        Release(handOver);
    }

    private async Task EarlierActivationsEndedAsync(IReadOnlyList<string> earlier)
    {
        var timeout = _options.ShardHandOverTimeout;
        var (ended, failure) = await _marks!.WaitForEarlierAsync(earlier, timeout);
        // Storage failing: post rather than hold forever (order is then best effort, as after a hand-over failure).
        if (failure is not null) LogEarlierActivationsUnknown(failure, this.GetPrimaryKeyString());
        else if (!ended) LogEarlierActivationsSlow(this.GetPrimaryKeyString(), earlier.Count, timeout);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        rebalancer.Deactivated(this.GetPrimaryKeyString());
        // Held messages live only in this activation: post them rather than lose them (order is then best effort).
        if (_held.Count > 0)
        {
            LogPostedAtDeactivation(this.GetPrimaryKeyString(), _held.Count, reason.Description);
            Release(int.MaxValue);
        }
        // The next activation may be on another silo and post at once: let this silo's posts end first. Calls wait
        // for the deactivation meanwhile and then go to the new activation.
        if (!await TaskWaits.WithinAsync(Outbox.AllEnded(), _options.ShardHandOverTimeout))
        {
            LogMovedBeforePostsEnded(this.GetPrimaryKeyString(), _options.ShardHandOverTimeout, reason.Description);
        }
        if (_marks is { } marks && await marks.TryLeaveAsync() is { } failure) LogMarkNotRemoved(failure, this.GetPrimaryKeyString());
    }

    public Task<bool> MoveIfMisplaced()
    {
        // Mid hand-over, moving would post the held messages in best-effort order: the rebalancer asks again later.
        if (Holding || !rebalancer.IsMisplaced(this.GetPrimaryKeyString()) || KeepsTrackedSummaries()) return Task.FromResult(false);
        // Orleans places it by the rule once deactivated, which first waits for this silo's posts (OnDeactivateAsync);
        // calls arriving meanwhile wait, then follow it (callers' cached address is updated, unlike after a plain
        // deactivation, where a stale cache would activate it on this silo again).
        MigrateOnIdle();
        return Task.FromResult(true);
    }

    public async Task<ShardChange> Add(string connectionId, IReadOnlyList<OutboundMessage>? replay = null)
    {
        var added = await _members.AddAsync(connectionId);
        // Behind whatever this shard holds for a hand-over, like any live post to the member.
        foreach (var message in replay ?? []) await PostAsync(message, [connectionId], trackDelivery: false);
        return new ShardChange(added, Members.Count);
    }

    public async Task<ShardChange> Remove(string connectionId)
    {
        var removed = await _members.RemoveAsync(connectionId);
        return new ShardChange(removed, Members.Count);
    }

    public async Task HandOver(IReadOnlyList<string> members, int depth, int? fromShard)
    {
        // The members first: a failure after them leaves the shard unnamed by the room's map, replaced by the next attempt.
        await _members.ReplaceAsync(members);
        await WriteDepthAsync(depth);
        var handOver = ++_handOvers;
        // Not awaited: the room is holding its gate for this call. The task runs on this activation's scheduler and
        // is awaited by later hand-overs, AwaitDelivery, QueuedPostsEnded and (past the safety valve) Publish.
        _handOver = PassHandOverAsync(_handOver, handOver, fromShard);
    }

    private async Task PassHandOverAsync(Task previous, int handOver, int? fromShard)
    {
        // Asked at once, even while an earlier hand-over still waits: the waits overlap, the posts stay in order.
        var predecessorDone = PredecessorPostsEndedAsync(fromShard);
        // Neither throws; were one to fault on a bug, the held messages must still go out rather than stay forever.
        await previous.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        await predecessorDone.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        Release(handOver);
    }

    private async Task PredecessorPostsEndedAsync(int? fromShard)
    {
        var timeout = _options.ShardHandOverTimeout;
        var room = Key.Room;
        var predecessor = fromShard is { } index ? "shard " + RoomShards.Key(room, index) : "room " + room;
        try
        {
            var call = fromShard is { } shard
                ? GrainFactory.RoomShard(RoomShards.Key(room, shard)).QueuedPostsEnded(timeout)
                : GrainFactory.Room(room).QueuedPostsEnded(timeout);
            // The predecessor answers by the timeout; a little more for the call itself, and never forever.
            if (!await call.WaitAsync(timeout + TimeSpan.FromSeconds(5)))
            {
                LogHandOverTimedOut(this.GetPrimaryKeyString(), predecessor, timeout);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Its silo may be gone (and its queue with it), or the call timed out: post rather than hold forever.
            LogHandOverFailed(e, this.GetPrimaryKeyString(), predecessor);
        }
    }

    /// <summary>Posts, in order, the messages held for hand-overs up to <paramref name="handOver"/>.</summary>
    private void Release(int handOver)
    {
        while (_held.TryPeek(out var held) && held.HandOver <= handOver)
        {
            _held.Dequeue();
            _heldBytes -= held.Bytes;
            if (held.Track && _heldTracked.TryGetValue(TrackingKey(held.Message.Id), out var count))
            {
                if (count <= held.Recipients.Length) _heldTracked.Remove(TrackingKey(held.Message.Id));
                else _heldTracked[TrackingKey(held.Message.Id)] = count - held.Recipients.Length;
            }
            Dispatch(held.Message, held.Recipients, held.Track);
        }
        _handedOver = Math.Max(_handedOver, Math.Min(handOver, _handOvers));
    }

    public async Task<int> Settle(int depth)
    {
        if (state.State.Depth == depth) return Members.Count;
        var index = Key.Index;
        await _members.TrimAsync(m => !RoomShards.Owns(RoomShards.Hash(m), index, depth));
        await WriteDepthAsync(depth);
        return Members.Count;
    }

    private async Task WriteDepthAsync(int depth)
    {
        var before = state.State.Depth;
        state.State.Depth = depth;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Not stored, so not known: the next Settle tries again.
            state.State.Depth = before;
            throw;
        }
    }

    public Task<IReadOnlyList<string>> MembersFor(int index, int depth) =>
        Task.FromResult<IReadOnlyList<string>>([.. Members.Where(m => RoomShards.Owns(RoomShards.Hash(m), index, depth))]);

    public Task<int> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery) =>
        PostAsync(message, exceptConnectionId is null ? Members : Members.Where(m => m != exceptConnectionId), trackDelivery);

    private async Task<int> PostAsync(OutboundMessage message, IEnumerable<string> recipients, bool trackDelivery)
    {
        if (!Holding) return Dispatch(message, recipients, trackDelivery);

        // A snapshot: members may join or leave before the hand-over passes, and the dispatcher would copy anyway.
        string[] snapshot = [.. recipients];
        var bytes = message.Payload.Length + (long)IntPtr.Size * snapshot.Length;
        if (_heldBytes + bytes > _options.ShardHandOverMaxDeferredBytes)
        {
            // The safety valve: held messages are outside the dispatcher's admission mark, so past this the publisher
            // waits (the room's gate is only shared meanwhile: joins go on). No other request runs on this shard
            // meanwhile (it is not reentrant), but the hand-over's own continuations do.
            if (_valveWarnedFor != _handOvers)
            {
                _valveWarnedFor = _handOvers;
                LogHeldTooMuch(this.GetPrimaryKeyString(), _heldBytes, _held.Count);
            }
            await _handOver.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
            if (!Holding) return Dispatch(message, snapshot, trackDelivery);
        }

        _held.Enqueue(new HeldMessage(message, snapshot, trackDelivery, _handOvers, bytes));
        _heldBytes += bytes;
        if (trackDelivery) _heldTracked[TrackingKey(message.Id)] = _heldTracked.GetValueOrDefault(TrackingKey(message.Id)) + snapshot.Length;
        return snapshot.Length;
    }

    public async Task<DeliverySummary> AwaitDelivery(string messageId, TimeSpan timeout)
    {
        var key = TrackingKey(messageId);
        if (_heldTracked.ContainsKey(key))
        {
            // Still held for a hand-over: the dispatcher does not know it yet and would answer "not tracked".
            var started = Stopwatch.GetTimestamp();
            await TaskWaits.WithinAsync(_handOver, timeout);
            if (_heldTracked.TryGetValue(key, out var held)) return new DeliverySummary(messageId, held, 0, 0, 0, Complete: false);
            timeout -= Stopwatch.GetElapsedTime(started);
            if (timeout < TimeSpan.Zero) timeout = TimeSpan.Zero;
        }
        return await Outbox.WaitAsync(key, timeout) with { MessageId = messageId };
    }

    public async Task<bool> QueuedPostsEnded(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        // Held messages are this shard's queued posts too: first let them reach the dispatcher.
        if (!await TaskWaits.WithinAsync(_handOver, timeout)) return false;
        return await TaskWaits.WithinAsync(Outbox.AllEnded(), timeout - Stopwatch.GetElapsedTime(started));
    }

    private int Dispatch(OutboundMessage message, IEnumerable<string> recipients, bool track)
    {
        if (track) _trackedHere.Enqueue(TrackingKey(message.Id));
        return Outbox.Post(message, recipients, track, TrackingKey(message.Id));
    }

    private bool KeepsTrackedSummaries()
    {
        while (_trackedHere.TryPeek(out var key) && !Outbox.IsTracking(key)) _trackedHere.Dequeue();
        return _trackedHere.Count > 0;
    }

    private string TrackingKey(string messageId) => messageId + "@" + this.GetPrimaryKeyString();

    public Task<bool> IsMember(string connectionId) => Task.FromResult(_members.Contains(connectionId));

    public Task<IReadOnlyList<string>> GetMembers(string? after, int limit) =>
        Task.FromResult<IReadOnlyList<string>>([.. Members
            .Where(m => after is null || string.CompareOrdinal(m, after) > 0)
            .Order(StringComparer.Ordinal)
            .Take(limit)]);

    /// <summary>A publish accepted while hand-over number <c>HandOver</c> was waiting, with its recipients then.</summary>
    private sealed record HeldMessage(OutboundMessage Message, string[] Recipients, bool Track, int HandOver, long Bytes);
}

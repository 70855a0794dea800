using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Tether.Contracts;

namespace Tether.Grains;

// Activated on the silo the call reached: for the API's calls that is the gateway, which already holds the request,
// so the connection's events need no further hop (API Gateway ids are spread over the gateways). /connect does not
// activate it (ConnectorGrain).
[GrainType(TetherGrainTypes.Connection), Orleans.Placement.PreferLocalPlacement]
public sealed partial class ConnectionGrain(
    [PersistentState(StoredRecipients.ConnectionStateName, TetherStorage.Name)] IPersistentState<ConnectionState> state,
    IDeliveryDispatcher dispatcher,
    IOptions<RoomOptions> roomOptions,
    IOptions<ConnectionOptions> connectionOptions,
    IManagementApiClient managementApi,
    TimeProvider time,
    MessageMetrics metrics,
    ILogger<ConnectionGrain> logger,
    IOptions<LimitOptions> limitOptions,
    IApplicationHooks hooks) : Grain, IConnectionGrain, IIncomingGrainCallFilter
{
    private readonly StoredState<ConnectionState> _stored = new(state);
    private readonly IApplicationHooks _hooks = hooks;
    private readonly RoomOptions _rooms = roomOptions.Value;
    private readonly TimeSpan _grace = connectionOptions.Value.ConnectGracePeriod;
    private readonly Outbox _direct = Outbox.Direct(dispatcher);
    private readonly LimitOptions _limits = limitOptions.Value;
    private IGrainTimer? _recheck;
    // The activation's first call follows the state read that activated it: the one call whose "not connected" is current.
    private bool _firstCall = true;

    /// <summary>Envelope bytes a <c>history</c> reply carries at most: under API Gateway's 128 KiB with room for the rest.</summary>
    internal const int HistoryReplyBudget = 120 * 1024;
    // Messages-per-second token bucket. It lives here because every message of a connection passes through this one
    // activation in the cluster, whichever API node API Gateway called: a per-node limiter would multiply the limit
    // by the number of nodes. Not persisted: a reactivated grain starts with a full bucket.
    private double _tokens = double.NaN;
    private long _refilledAt;
    private ConnectionState State => _stored.State;
    private string Id => this.GetPrimaryKeyString();

    public async Task UndoConnect(DateTimeOffset acceptedAt, string cause)
    {
        // Outlives the /connect's deadline, which has passed or does not matter to it.
        CallDeadline.Forget();
        await RemoveEverywhereAsync(extraRoom: null, cause, onlyAcceptedAt: acceptedAt);
    }

    /// <summary>The sweep index, the batch registry, the rooms and the user learn of the stored connection; full rooms are left out of it.</summary>
    private async Task RegisterEverywhereAsync(List<string> rooms)
    {
        var full = await ConnectionRegistration.RegisterAsync(GrainFactory, Id, State, rooms);
        if (full.Count == 0) return;
        await _stored.ChangeAsync(s =>
        {
            s.Rooms.ExceptWith(full);
            return true;
        });
    }

    /// <summary>
    /// Every call first brings memory back to storage if a failed write left it unsure (see <see cref="StoredState{T}"/>),
    /// and reads storage again when memory says "not connected": <c>/connect</c> stores the record without this activation
    /// (<see cref="ConnectorGrain"/>), and an out-of-date "not connected" must not answer for, or remove, a new connection.
    /// Not in an interleaving call, which must not swap the state under the call it runs beside.
    /// </summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await _stored.RefreshAsync();
        if (!State.Connected && !_firstCall && !context.InterfaceMethod.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: false))
        {
            await _stored.ReadAgainAsync();
        }
        _firstCall = false;
        await context.Invoke();
    }

    public async Task Disconnect(string reason)
    {
        if (await RemoveEverywhereAsync(extraRoom: null, "disconnect"))
        {
            metrics.Disconnected("disconnect");
            LogDisconnected(Id, reason);
        }
    }

    public async Task<bool> Gone(string? seenInRoom)
    {
        var sinceAccepted = time.GetUtcNow() - State.AcceptedAt;
        if (State.Connected && sinceAccepted < _grace)
        {
            // Most likely API Gateway has not finished this connection's $connect yet: keep it, and ask API Gateway
            // once the window has passed.
            _recheck ??= this.RegisterGrainTimer(RecheckAsync, new GrainTimerCreationOptions(_grace - sinceAccepted, Timeout.InfiniteTimeSpan) { KeepAlive = true });
            LogGoneWhileConnecting(Id);
            return false;
        }
        if (await RemoveEverywhereAsync(seenInRoom, "gone")) RemovedAsGone();
        return true;
    }

    private async Task RecheckAsync(CancellationToken cancellationToken)
    {
        // One-shot: disposed after the check, not before (disposing a timer cancels its running callback).
        try
        {
            if (!State.Connected) return;
            var (result, _) = await managementApi.GetAsync(Id, cancellationToken);
            if (result.Outcome == ManagementOutcome.Gone && await RemoveEverywhereAsync(extraRoom: null, "gone")) RemovedAsGone();
        }
        finally
        {
            _recheck?.Dispose();
            _recheck = null;
        }
    }

    public async Task<bool> Sweep(bool expired)
    {
        if (!State.Connected) return false;
        if (expired)
        {
            // API Gateway has certainly closed it: no need to ask.
            if (await RemoveEverywhereAsync(extraRoom: null, "swept")) RemovedAsSwept("past API Gateway's connection lifetime");
            return false;
        }
        // GetConnection answers 410 until API Gateway has finished the $connect: a connection accepted moments ago
        // stays, and its bucket asks again at its next pass.
        if (time.GetUtcNow() - State.AcceptedAt < _grace) return true;
        if (await RemoveEverywhereAsync(extraRoom: null, "swept")) RemovedAsSwept("GetConnection answered 410");
        return false;
    }

    public Task<ClientReply> Handle(ClientCommand command)
    {
        if (!State.Connected)
        {
            return Task.FromResult<ClientReply>(new ErrorReply(404, "unknown_connection",
                "This connection is not registered (it never connected, or it has disconnected)."));
        }
        if (CallDeadline.Passed(time))
        {
            // Queued here behind this connection's earlier messages until its caller gave up: refuse, and do nothing.
            return Task.FromResult<ClientReply>(new ErrorReply(503, "too_late",
                "This message waited too long behind this connection's earlier ones and was not processed; send it again."));
        }
        if (!TryTakeMessageToken())
        {
            return Task.FromResult<ClientReply>(new ErrorReply(429, "rate_limited",
                $"Too many messages: at most {_limits.MessagesPerSecond} per second (bursts of {_limits.MessageBurst}) per connection."));
        }
        return command switch
        {
            JoinRoom join => JoinAsync(join.Room, join.Since),
            LeaveRoom leave => LeaveAsync(leave.Room),
            SendToRoom send => SendToRoomAsync(send),
            SendDirect direct => SendDirectAsync(direct),
            ResumeStreams resume => ResumeAsync(resume),
            HistoryQuery query => HistoryAsync(query),
            Ping => Task.FromResult<ClientReply>(new Pong(time.GetUtcNow())),
            RpcCall rpc => RpcAsync(rpc),
            _ => Task.FromResult<ClientReply>(new ErrorReply(400, "invalid_message", "Unsupported message.")),
        };
    }

    public async Task<bool> Deliver(OutboundMessage message)
    {
        // Interleaving, so memory is not read again here (see Invoke): storage is asked instead.
        if (!State.Connected && !await StoredRecipients.IsConnectedAsync(ServiceProvider, Id)) return false;
        await _direct.AdmitAndPostAsync(message, [Id]);
        return true;
    }

    public Task<ConnectionSnapshot?> GetSnapshot() => Task.FromResult(State.Connected
        ? new ConnectionSnapshot(Id, State.User, [.. State.Rooms.Order(StringComparer.Ordinal)], State.ConnectedAt, State.SourceIp, State.UserAgent)
        : null);

    public async Task<CloseResult> Close(string reason)
    {
        var result = await managementApi.DeleteAsync(Id);
        var closed = result.Outcome is ManagementOutcome.Delivered or ManagementOutcome.Gone;
        if (closed && await RemoveEverywhereAsync(extraRoom: null, "closed"))
        {
            metrics.Disconnected("closed");
            LogDisconnected(Id, reason);
        }
        return new CloseResult(closed, result.Outcome.ToString(), result.StatusCode);
    }

    private async Task<ClientReply> JoinAsync(string? requested, StreamPosition? since = null)
    {
        if ((requested ?? _rooms.DefaultRoom) is not { } name)
        {
            return new ErrorReply(400, "invalid_message", "joinroom needs a \"room\" (this server has no default room).");
        }
        if (Forbidden(name) is { } forbidden) return forbidden;
        var added = !State.Rooms.Contains(name);
        if (added && _limits.MaxRoomsPerConnection > 0 && State.Rooms.Count >= _limits.MaxRoomsPerConnection)
        {
            return new ErrorReply(403, "too_many_rooms", $"A connection may be in at most {_limits.MaxRoomsPerConnection} rooms; leave one first.");
        }
        if (added && await JoinRefusedAsync(name) is { } refused) return refused;
        RoomJoin join;
        try
        {
            // The record first: it always lists at least every room that lists this connection.
            if (added) await _stored.ChangeAsync(s => s.Rooms.Add(name));
            join = await Room(name).JoinFrom(Id, State.User, since);
        }
        catch (Exception)
        {
            // All or nothing: the caller hears of a failure, so the join is taken back (now, or by the repair).
            await UndoJoinAsync(name, added);
            throw;
        }
        Settled(name);
        if (join.Members == IRoomGrain.Full)
        {
            if (added) await UndoJoinAsync(name, added);
            return new ErrorReply(403, "room_full", $"Room '{name}' has reached its limit of {_limits.MaxMembersPerRoom} members.");
        }
        return new Joined(name, join.Members, join.Epoch, join.Seq, join.Recovered, join.Replayed);
    }

    /// <summary>
    /// Joins each room from its position, one after the other (each join writes this connection's state), then catches
    /// up the user's stream. A room refused is an error entry; the others go on.
    /// </summary>
    private async Task<ClientReply> ResumeAsync(ResumeStreams resume)
    {
        var rooms = new Dictionary<string, StreamResume>(StringComparer.Ordinal);
        foreach (var (name, since) in resume.Rooms)
        {
            rooms[name] = await JoinAsync(name, since) switch
            {
                Joined joined => new StreamResume(joined.Recovered ?? false, joined.Replayed ?? 0, joined.Epoch ?? "", joined.Seq),
                ErrorReply error => StreamResume.Refused(error.Code),
                var other => throw new InvalidOperationException($"Unexpected join reply {other.GetType().Name}."),
            };
        }
        StreamResume? user = null;
        if (resume.User is { } userSince)
        {
            user = State.User is { } id ? await GrainFactory.User(id).CatchUp(Id, userSince) : StreamResume.Refused("no_user");
        }
        return new Resumed(rooms, user);
    }

    private async Task<ClientReply> HistoryAsync(HistoryQuery query)
    {
        if (!State.Rooms.Contains(query.Room))
        {
            return new ErrorReply(403, "not_in_room", $"Join room '{query.Room}' before asking for its history.");
        }
        var page = await Room(query.Room).History(query.Before, query.Limit, HistoryReplyBudget);
        return new HistoryReply(query.Room, page.Epoch, page.Messages, page.More);
    }

    /// <summary>
    /// A join that failed or was refused is taken back: this record without the room, then the room made to agree.
    /// When the record cannot be written, the repair takes the room out of both later.
    /// </summary>
    private async Task UndoJoinAsync(string room, bool added)
    {
        UnsettleRoom(room);
        if (!added) return;
        try
        {
            await _stored.ChangeAsync(s => s.Rooms.Remove(room));
        }
        catch (Exception)
        {
            _joinsToUndo.Add(room);
            ScheduleRepair();
        }
    }

    private async Task<ClientReply> LeaveAsync(string name)
    {
        if (!State.Rooms.Contains(name))
        {
            return new ErrorReply(409, "not_in_room", $"This connection is not in room '{name}'.");
        }
        // The room first, the record last: a failure in between leaves the record listing the room, and the repair
        // puts the connection back in it (the caller was told the leave failed).
        try
        {
            await Room(name).Leave(Id, State.User, notify: true);
            await _stored.ChangeAsync(s => s.Rooms.Remove(name));
        }
        catch (Exception)
        {
            UnsettleRoom(name);
            throw;
        }
        Settled(name);
        return new Left(name);
    }

    private async Task<ClientReply> SendToRoomAsync(SendToRoom send)
    {
        if ((send.Room ?? _rooms.DefaultRoom) is not { } name)
        {
            return new ErrorReply(400, "invalid_message", "sendmessage needs a \"room\" (this server has no default room).");
        }
        if (Forbidden(name) is { } forbidden) return forbidden;
        if (name == _rooms.DefaultRoom && _rooms.DefaultRoomSend == DefaultRoomSend.AdminOnly)
        {
            return new ErrorReply(403, "default_room_send_forbidden",
                $"Only the server sends to the default room '{name}' here (Rooms__DefaultRoomSend); send to a named room.");
        }
        if (!State.Rooms.Contains(name))
        {
            return new ErrorReply(403, "not_in_room", $"Join room '{name}' before sending to it.");
        }
        var (messageJson, refusal) = await PublishHookAsync(name, target: null, send.MessageJson);
        if (refusal is not null) return refusal;

        var message = Envelopes.Message(Envelopes.NewMessageId(), name, Id, State.User, messageJson!, time.GetUtcNow());
        if (TooLarge(message) is { } tooLarge) return tooLarge;
        metrics.MessageReceived("client", "room");
        var receipt = await Room(name).Publish(message, send.Echo ? null : Id, trackDelivery: false, send.RequestId);
        return new Sent(name, receipt.MessageId, receipt.Recipients, Seq: receipt.Seq, Epoch: receipt.Epoch);
    }

    private async Task<ClientReply> SendDirectAsync(SendDirect direct)
    {
        var (messageJson, refusal) = await PublishHookAsync(room: null, HookRequests.Target(direct.ConnectionId, direct.User), direct.MessageJson);
        if (refusal is not null) return refusal;
        var message = Envelopes.Message(Envelopes.NewMessageId(), room: null, Id, State.User, messageJson!, time.GetUtcNow());
        if (TooLarge(message) is { } tooLarge) return tooLarge;
        metrics.MessageReceived("client", direct.ConnectionId is not null ? "connection" : "user");

        int recipients;
        PublishReceipt? receipt = null;
        if (direct.ConnectionId is { } target)
        {
            recipients = target == Id ? await Deliver(message) ? 1 : 0
                // Asked of storage first: an unknown id costs a read, not an activation.
                : await StoredRecipients.IsConnectedAsync(ServiceProvider, target) && await GrainFactory.Connection(target).Deliver(message) ? 1 : 0;
        }
        else if (await StoredRecipients.HasConnectionsAsync(ServiceProvider, direct.User!))
        {
            receipt = await GrainFactory.User(direct.User!).Publish(message, direct.RequestId);
            recipients = receipt.Recipients;
        }
        else
        {
            recipients = 0;
        }

        if (recipients == 0)
        {
            return new ErrorReply(404, "recipient_not_found", direct.ConnectionId is not null
                ? $"No connection '{direct.ConnectionId}' is connected."
                : $"User '{direct.User}' has no connection.");
        }
        return new Sent(Room: null, receipt?.MessageId ?? message.Id, recipients, direct.ConnectionId, direct.User, receipt?.Seq, receipt?.Epoch);
    }

    /// <summary>
    /// Leaves every room and the user, then forgets the state. Returns whether there was anything to remove; a
    /// connection that was connected is then reported to the disconnect hook with <paramref name="cause"/>.
    /// </summary>
    private async Task<bool> RemoveEverywhereAsync(string? extraRoom, string cause, DateTimeOffset? onlyAcceptedAt = null)
    {
        try
        {
            return await RemoveEverywhereNowAsync(extraRoom, cause, onlyAcceptedAt);
        }
        catch (Exception)
        {
            // What was left is removed by the repair once rooms and storage answer again; the sweep is the last resort.
            FinishRemovalLater(cause, onlyAcceptedAt);
            throw;
        }
    }

    /// <summary>
    /// <paramref name="onlyAcceptedAt"/>: the removal is of the registration a <c>/connect</c> stored then, and storage may
    /// hold another by now (a retried <c>/connect</c>); that one stands, and is put back where this removal took it from.
    /// </summary>
    private async Task<bool> RemoveEverywhereNowAsync(string? extraRoom, string cause, DateTimeOffset? onlyAcceptedAt)
    {
        Func<ConnectionState, bool>? onlyIf = onlyAcceptedAt is { } at ? s => s.AcceptedAt == at : null;
        if (onlyIf is not null && State.Connected && !onlyIf(State))
        {
            await RegisterEverywhereAsync([.. State.Rooms]);
            return false;
        }
        var rooms = new HashSet<string>(State.Rooms, StringComparer.Ordinal);
        if (extraRoom is not null) rooms.Add(extraRoom);
        var wasConnected = State.Connected;
        if (!wasConnected && rooms.Count == 0) return false;

        var user = State.User;
        var leaves = rooms.Select(r => (Task)Room(r).Leave(Id, user, notify: true)).ToList();
        if (user is not null) leaves.Add(GrainFactory.User(user).RemoveConnection(Id));
        if (wasConnected) leaves.Add(SweepBucket().Unregister(Id));
        if (State.Batch) leaves.Add(BatchRegistry().Remove(Id));
        await Task.WhenAll(leaves);

        // No DeactivateOnIdle here: calls queued behind this one would be forwarded to a dying activation and
        // rejected. Idle activations are collected by Orleans anyway.
        if (!await _stored.ClearAsync(onlyIf))
        {
            await RegisterEverywhereAsync([.. State.Rooms]);
            return false;
        }
        State.Rooms.Clear();
        if (wasConnected) NotifyDisconnected(user, cause);
        return wasConnected;
    }

    private ErrorReply? TooLarge(OutboundMessage message) => message.Payload.Length > _limits.MaxMessageBytes
        ? new ErrorReply(413, "message_too_large",
            $"The message is {message.Payload.Length} bytes with its envelope; at most {_limits.MaxMessageBytes} bytes are delivered.")
        : null;

    /// <summary>The default room is the server's choice and always allowed; other rooms must match the token's patterns.</summary>
    private ErrorReply? Forbidden(string room) =>
        room == _rooms.DefaultRoom || RoomPatterns.Allows(State.AllowedRooms, room)
            ? null
            : new ErrorReply(403, "room_forbidden", $"This connection's token does not allow room '{room}'.");

    private bool TryTakeMessageToken()
    {
        var rate = _limits.MessagesPerSecond;
        if (rate <= 0) return true;
        var now = time.GetTimestamp();
        _tokens = double.IsNaN(_tokens)
            ? _limits.MessageBurst
            : Math.Min(_limits.MessageBurst, _tokens + time.GetElapsedTime(_refilledAt, now).TotalSeconds * rate);
        _refilledAt = now;
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }

    private IRoomGrain Room(string name) => GrainFactory.Room(name);

    private IBatchRegistryGrain BatchRegistry() => GrainFactory.BatchRegistry(Contracts.BatchRegistry.BucketOf(Id));

    private ISweepBucketGrain SweepBucket() => GrainFactory.SweepBucket(SweepBuckets.Key(Id, State.ConnectedAt));

    private void RemovedAsSwept(string why)
    {
        metrics.Disconnected("swept");
        LogSwept(Id, why);
    }

    private void RemovedAsGone()
    {
        metrics.Disconnected("gone");
        LogGone(Id);
    }
}

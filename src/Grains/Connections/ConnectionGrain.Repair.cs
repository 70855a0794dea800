using Microsoft.Extensions.Logging;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Repair after a membership change failed half way (storage or a room unreachable): this connection's record is the
/// source of truth, and the rooms, the user and a removal left unfinished are made to agree with it, retried with
/// back-off while the activation lives. The record always lists at least every room that lists the connection (joins
/// write it first, leaves last), so a later disconnect or sweep also cleans up whatever a repair did not reach.
/// </summary>
public sealed partial class ConnectionGrain
{
    private static readonly TimeSpan FirstRepairDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRepairDelay = TimeSpan.FromSeconds(30);

    // Rooms whose member list may disagree with this record; whether the user's may; a removal to finish (its cause).
    private readonly HashSet<string> _unsettledRooms = new(StringComparer.Ordinal);
    // Rooms this record still lists although the caller was told their join failed: taken out first.
    private readonly HashSet<string> _joinsToUndo = new(StringComparer.Ordinal);
    private bool _userUnsettled;
    private string? _unfinishedRemoval;
    // The unfinished removal is of the registration a /connect stored at this time only (see UndoConnect).
    private DateTimeOffset? _unfinishedRemovalOf;
    private IGrainTimer? _repair;
    private int _repairAttempts;

    /// <summary>Whether a repair is still to run (tests and the snapshot's readers can wait for it).</summary>
    private bool Unsettled => _unsettledRooms.Count > 0 || _joinsToUndo.Count > 0 || _userUnsettled || _unfinishedRemoval is not null;

    private void UnsettleRoom(string room)
    {
        _unsettledRooms.Add(room);
        ScheduleRepair();
    }

    private void UnsettleUser()
    {
        _userUnsettled = true;
        ScheduleRepair();
    }

    private void FinishRemovalLater(string cause, DateTimeOffset? onlyAcceptedAt = null)
    {
        if (_unfinishedRemoval is null) _unfinishedRemovalOf = onlyAcceptedAt;
        _unfinishedRemoval ??= cause;
        ScheduleRepair();
    }

    /// <summary>A change of this room that succeeded since makes its earlier repair moot.</summary>
    private void Settled(string room)
    {
        _unsettledRooms.Remove(room);
        _joinsToUndo.Remove(room);
    }

    private void ScheduleRepair()
    {
        if (_repair is not null) return;
        var delay = TimeSpan.FromTicks(Math.Min(MaxRepairDelay.Ticks, FirstRepairDelay.Ticks << Math.Min(_repairAttempts, 5)));
        _repair = this.RegisterGrainTimer(RepairAsync, new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task RepairAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _stored.RefreshAsync();
            // A record the stateless /connect stored since would not be in memory (see Invoke).
            if (!State.Connected) await _stored.ReadAgainAsync();
            if (_unfinishedRemoval is { } cause)
            {
                if (await RemoveEverywhereAsync(extraRoom: null, cause, _unfinishedRemovalOf))
                {
                    metrics.Disconnected(cause);
                    LogDisconnected(Id, cause);
                }
                _unfinishedRemoval = null;
                _unfinishedRemovalOf = null;
                _unsettledRooms.Clear();
                _joinsToUndo.Clear();
                _userUnsettled = false;
            }
            if (_joinsToUndo.Count > 0)
            {
                var undo = _joinsToUndo.ToList();
                await _stored.ChangeAsync(s => undo.Aggregate(false, (changed, room) => s.Rooms.Remove(room) | changed));
                _joinsToUndo.Clear();
            }
            foreach (var room in _unsettledRooms.ToList())
            {
                if (State.Connected && State.Rooms.Contains(room)) await Room(room).Join(Id, State.User);
                else await Room(room).Leave(Id, State.User, notify: false);
                _unsettledRooms.Remove(room);
            }
            if (_userUnsettled)
            {
                if (State.Connected && State.User is { } user) await GrainFactory.User(user).AddConnection(Id);
                _userUnsettled = false;
            }
            _repairAttempts = 0;
            LogRepaired(Id);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _repairAttempts++;
            LogRepairFailed(Id, _repairAttempts, e.GetType().Name);
        }
        finally
        {
            // One-shot: disposed after the run, not before (disposing a timer cancels its running callback).
            _repair?.Dispose();
            _repair = null;
            if (Unsettled) ScheduleRepair();
        }
    }

    [LoggerMessage(1020, LogLevel.Information, "Connection {ConnectionId}: rooms and user agree with its record again", EventName = "MembershipRepaired")]
    private partial void LogRepaired(string connectionId);

    [LoggerMessage(1021, LogLevel.Warning, "Connection {ConnectionId}: repairing its memberships failed (attempt {Attempt}, {Error}); retrying", EventName = "MembershipRepairFailed")]
    private partial void LogRepairFailed(string connectionId, int attempt, string error);
}

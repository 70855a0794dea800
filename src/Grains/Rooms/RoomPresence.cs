using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// One room's presence notices, so that joins and leaves cannot amplify into posts (issue 18 point 4). A notice waits
/// for the room's window (<see cref="RoomOptions.PresenceWindow"/>; the first after a quiet window goes at once), a
/// join and a leave of one connection within it cancel out, the notices go through admission like every post, and
/// the room's presence posts are capped per second (<see cref="RoomOptions.MaxPresencePostsPerSecond"/>, a token
/// bucket that may go one notice into debt): notices over the cap are dropped and counted, never queued up.
/// All of it runs on the room grain's scheduler, one piece at a time, so plain fields suffice.
/// </summary>
internal sealed class RoomPresence(
    string room,
    RoomOptions options,
    TimeProvider time,
    PresenceBacklog backlog,
    Func<ValueTask<bool>> admit,
    Func<OutboundMessage, string, Task<int>> post)
{
    /// <summary>Connections whose change waits in one window; past this more are dropped (a window holds what the cap can send anyway).</summary>
    internal const int MaxPendingPerWindow = 4096;

    private static readonly TimeSpan DropReportInterval = TimeSpan.FromSeconds(10);

    // In arrival order; a connection's entry keeps its first and latest event of the window.
    private readonly OrderedDictionary<string, Change> _pending = new(StringComparer.Ordinal);
    private Task? _runner;
    private long _lastFlush;
    private long _lastDropReport;
    private double _tokens = options.MaxPresencePostsPerSecond;
    private long _refilledAt = time.GetTimestamp();

    /// <summary>Records a join or leave; the notice goes out with its window's, unless a later change cancels it.</summary>
    public void Announce(string presenceEvent, string connectionId, string? user)
    {
        if (_pending.TryGetValue(connectionId, out var change))
        {
            _pending[connectionId] = change with { Last = presenceEvent, User = user };
        }
        else if (_pending.Count >= MaxPendingPerWindow)
        {
            Drop(1);
            return;
        }
        else
        {
            _pending.Add(connectionId, new Change(presenceEvent, presenceEvent, user));
        }
        if (_runner is not null) return;
        backlog.Enter();
        _runner = RunAsync();
    }

    private async Task RunAsync()
    {
        try
        {
            // Never inside the caller's turn: a join holds the room's gate, and admission may wait.
            await Task.Yield();
            // The window outlives the join or leave that opened it: that call's deadline is not this work's.
            CallDeadline.Forget();
            while (_pending.Count > 0)
            {
                var wait = options.PresenceWindow - time.GetElapsedTime(_lastFlush);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, time);
                var admitted = await admit();
                _lastFlush = time.GetTimestamp();
                var notices = TakeNetChanges();
                // Refused (the silo's queue stayed over its mark): dropped and counted like notices over the cap;
                // the dispatcher's own warning says why.
                if (admitted) await SendAsync(notices);
                else backlog.Drop(room, notices.Count, options.MaxPresencePostsPerSecond, reported: false);
            }
        }
        finally
        {
            _runner = null;
            backlog.Exit();
        }
    }

    /// <summary>The window's notices: a connection that joined and left (or left and joined again) within it has none.</summary>
    private List<(string ConnectionId, Change Change)> TakeNetChanges()
    {
        var notices = _pending.Where(p => p.Value.First == p.Value.Last).Select(p => (p.Key, p.Value)).ToList();
        _pending.Clear();
        return notices;
    }

    private async Task SendAsync(List<(string ConnectionId, Change Change)> notices)
    {
        Refill();
        var sent = 0;
        try
        {
            for (; sent < notices.Count && _tokens > 0; sent++)
            {
                var (connectionId, change) = notices[sent];
                _tokens -= await post(Envelopes.Presence(change.First, room, connectionId, change.User), connectionId);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A shard's silo may be gone: presence is best effort, the next window tries again with its own notices.
            backlog.Failed(e, room, notices.Count - sent);
            return;
        }
        if (sent < notices.Count) Drop(notices.Count - sent);
    }

    private void Refill()
    {
        var now = time.GetTimestamp();
        var cap = options.MaxPresencePostsPerSecond;
        _tokens = Math.Min(cap, _tokens + time.GetElapsedTime(_refilledAt, now).TotalSeconds * cap);
        _refilledAt = now;
    }

    private void Drop(int count)
    {
        var report = _lastDropReport == 0 || time.GetElapsedTime(_lastDropReport) >= DropReportInterval;
        if (report) _lastDropReport = time.GetTimestamp();
        backlog.Drop(room, count, options.MaxPresencePostsPerSecond, report);
    }

    /// <summary>A connection's first and latest event within the window: the same event twice means a net change.</summary>
    private readonly record struct Change(string First, string Last, string? User);
}

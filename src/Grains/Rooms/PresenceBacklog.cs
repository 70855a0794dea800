using Microsoft.Extensions.Logging;

namespace Tether.Grains;

/// <summary>
/// This silo's rooms whose presence notices wait for their window (<see cref="RoomPresence"/>), and the log of notices
/// dropped over a room's cap. "Idle" means every notice announced so far has reached the dispatcher.
/// </summary>
public sealed partial class PresenceBacklog(ILogger<PresenceBacklog> logger, MessageMetrics metrics)
{
    private readonly Lock _lock = new();
    private int _waiting;
    private TaskCompletionSource _idle = Completed();
    private long _dropped;

    /// <summary>Presence notices dropped on this silo since it started (over a room's cap, or past a window's bound).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Completes when no room on this silo holds notices back.</summary>
    public Task WhenIdleAsync()
    {
        lock (_lock) return _idle.Task;
    }

    internal void Enter()
    {
        lock (_lock)
        {
            if (_waiting++ == 0) _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    internal void Exit()
    {
        TaskCompletionSource? idle = null;
        lock (_lock)
        {
            if (--_waiting == 0) idle = _idle;
        }
        idle?.TrySetResult();
    }

    internal void Drop(string room, int count, int cap, bool reported)
    {
        Interlocked.Add(ref _dropped, count);
        metrics.PresenceDropped(count);
        if (reported) LogDropped(room, count, cap);
    }

    internal void Failed(Exception exception, string room, int count) => LogFailed(exception, room, count);

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    [LoggerMessage(1301, LogLevel.Warning, "Room {Room} dropped {Count} presence notices over its cap of {Cap} presence posts per second (Rooms__MaxPresencePostsPerSecond); at most one such warning per room per 10 s", EventName = "PresenceDropped")]
    private partial void LogDropped(string room, int count, int cap);

    [LoggerMessage(1302, LogLevel.Warning, "Room {Room} could not send {Count} presence notices", EventName = "PresenceFailed")]
    private partial void LogFailed(Exception exception, string room, int count);
}

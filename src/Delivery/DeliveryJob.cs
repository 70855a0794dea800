using System.Diagnostics;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Delivery;

/// <summary>
/// One message on its way to its recipients, with thread-safe outcome counters. <see cref="Room"/> or <see cref="User"/>
/// names the room or user whose stream it is, reported with a 410 so that they heal.
/// </summary>
internal sealed class DeliveryJob(OutboundMessage message, string? room, DeliveryMetrics? metrics = null, string? user = null)
{
    private readonly TaskCompletionSource<DeliverySummary> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _recipients;
    private int _remaining;
    private int _delivered;
    private int _gone;
    private int _failed;
    private long _startedAt;

    public OutboundMessage Message { get; } = message;

    public string? Room { get; } = room;

    public string? User { get; } = user;

    /// <summary>When it was handed to the dispatcher (a <see cref="TimeProvider"/> timestamp): a post waits for a failing Management API at most <see cref="DeliveryOptions.MaxOutageDelay"/> from then.</summary>
    public long QueuedAt { get; init; }

    public Task<DeliverySummary> Completion => _completion.Task;

    public DateTimeOffset? FinishedAt { get; private set; }

    public void Start(int recipients)
    {
        _recipients = recipients;
        _remaining = recipients;
        _startedAt = Stopwatch.GetTimestamp();
        if (recipients == 0) Finish();
    }

    public void Complete(ManagementOutcome outcome)
    {
        metrics?.Delivery(outcome);
        switch (outcome)
        {
            case ManagementOutcome.Delivered: Interlocked.Increment(ref _delivered); break;
            case ManagementOutcome.Gone: Interlocked.Increment(ref _gone); break;
            default: Interlocked.Increment(ref _failed); break;
        }
        if (Interlocked.Decrement(ref _remaining) == 0) Finish();
    }

    public DeliverySummary Summary(bool complete) =>
        new(Message.Id, _recipients, Volatile.Read(ref _delivered), Volatile.Read(ref _gone), Volatile.Read(ref _failed), complete);

    private void Finish()
    {
        FinishedAt = DateTimeOffset.UtcNow;
        if (_recipients > 0) metrics?.FanOutFinished(Room is null ? "direct" : "room", _startedAt);
        _completion.TrySetResult(Summary(complete: true));
    }
}

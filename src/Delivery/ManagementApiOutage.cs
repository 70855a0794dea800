namespace Tether.Delivery;

/// <summary>
/// This silo's view of whether the Management API takes posts. An outage begins when a post is refused by the client's
/// open or half-open circuit breaker (or fails while it is open) and ends when a post reaches the API again. Meanwhile
/// posts wait here instead of failing: one of them at a time probes (the breaker lets one trial call through once its
/// break has passed, and refuses the rest, so a probe that is one post costs no other post anything), and every other
/// one waits for the probe's outcome or for its own deadline.
/// </summary>
internal sealed class ManagementApiOutage(TimeProvider time)
{
    /// <summary>How often a waiting post asks the breaker again: a refusal costs no HTTP call, and the breaker decides when its break is over.</summary>
    internal static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(250);

    private readonly Lock _lock = new();
    private long _began;
    private DateTimeOffset? _beganUtc;
    private long _ended;
    private bool _probing;
    private long _nextProbe;
    private int _waiting;
    private TaskCompletionSource _changed = NewSignal();

    public enum Turn
    {
        /// <summary>No outage: post.</summary>
        Post,
        /// <summary>An outage, and this post is the one that asks whether it is over.</summary>
        Probe,
        /// <summary>The post's deadline passed while it waited: drop it.</summary>
        Expired,
    }

    /// <summary>When the outage began (UTC), or null when posts reach the Management API.</summary>
    public DateTimeOffset? Since
    {
        get { lock (_lock) return _beganUtc; }
    }

    /// <summary>Whether posts are being refused now.</summary>
    public bool Active => Volatile.Read(ref _began) != 0;

    /// <summary>Posts waiting for the outage to end.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Whether a post queued at <paramref name="queuedAt"/> lived through an outage (the current one or one that ended since).</summary>
    public bool Outlived(long queuedAt)
    {
        lock (_lock) return _began != 0 || queuedAt < _ended;
    }

    /// <summary>Completes when the caller may post (or must probe), or when <paramref name="deadline"/> (a timestamp) has passed.</summary>
    public async Task<Turn> WaitTurnAsync(long deadline, CancellationToken cancellationToken)
    {
        if (!Active) return Turn.Post;
        Interlocked.Increment(ref _waiting);
        try
        {
            while (true)
            {
                Task changed;
                TimeSpan wait;
                lock (_lock)
                {
                    if (_began == 0) return Turn.Post;
                    var now = time.GetTimestamp();
                    if (now >= deadline)
                    {
                        // The last post waiting gives up: nobody is left to probe, so the next post finds out afresh.
                        if (_waiting == 1 && !_probing) EndLocked(now);
                        return Turn.Expired;
                    }
                    if (!_probing && now >= _nextProbe)
                    {
                        _probing = true;
                        return Turn.Probe;
                    }
                    changed = _changed.Task;
                    wait = time.GetElapsedTime(now, _probing ? deadline : Math.Min(deadline, _nextProbe));
                }
                try
                {
                    await changed.WaitAsync(wait, time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>A post was refused (or failed while the breaker is open). True when this began the outage.</summary>
    public bool Refused(bool probe)
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            var began = _began == 0;
            if (probe || began) _nextProbe = now + (long)(ProbeInterval.TotalSeconds * time.TimestampFrequency);
            if (probe)
            {
                _probing = false;
                Signal();
            }
            if (!began) return false;
            _began = now;
            _beganUtc = time.GetUtcNow();
            return true;
        }
    }

    /// <summary>A post reached the Management API. Returns how long the outage it ended lasted, or null when there was none.</summary>
    public TimeSpan? Reached(bool probe)
    {
        if (!probe && !Active) return null;
        lock (_lock)
        {
            if (probe) _probing = false;
            if (_began == 0) return null;
            var lasted = time.GetElapsedTime(_began);
            EndLocked(time.GetTimestamp());
            return lasted;
        }
    }

    private void EndLocked(long now)
    {
        _began = 0;
        _beganUtc = null;
        _ended = now;
        Signal();
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

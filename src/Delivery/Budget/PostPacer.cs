namespace Tether.Delivery;

/// <summary>
/// The silo's post budget: a token bucket whose rate is this silo's share of <c>Delivery__MaxPostsPerSecond</c>, lowered
/// and raised by <see cref="AimdRate"/>, and paused while a <c>Retry-After</c> lasts. Workers take a token before each
/// post, first come first served: priorities are applied by the queue, which hands a worker the most urgent post only
/// once it holds a token. One pump releases waiters, so a thousand waiting workers cost one timer, not a thousand.
/// </summary>
internal sealed class PostPacer : IDisposable
{
    /// <summary>The bucket holds a tenth of a second of posts: enough to absorb jitter, too little to burst past a quota.</summary>
    internal const double BurstSeconds = 0.1;

    /// <summary>
    /// While posts wait, it keeps up to a second of them: a pump that wakes late (a GC pause, a busy machine) releases
    /// what accrued meanwhile instead of forfeiting it, as the quota's own bucket refilled meanwhile too. Not after a
    /// 429 until a post is delivered again: the quota's bucket was found empty, and a late pump must not burst into it.
    /// </summary>
    internal const double CatchUpSeconds = 1;

    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(1);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _waiters = new();
    private readonly SemaphoreSlim _waiting = new(0);
    private readonly AimdRate _rate;
    private readonly double _budget;
    private double _tokens;
    private long _refilledAt;
    private long _pausedUntil;
    private bool _throttledSinceDelivery;

    public PostPacer(double budget, TimeProvider time)
    {
        _time = time;
        _budget = budget;
        _rate = new AimdRate(budget, time.TimestampFrequency);
        _tokens = Capacity;
        _refilledAt = time.GetTimestamp();
    }

    /// <summary>The rate this silo posts at now (posts per second).</summary>
    public double Rate
    {
        get { lock (_lock) return _rate.Current; }
    }

    /// <summary>This silo's share of the budget.</summary>
    public double Ceiling
    {
        get { lock (_lock) return _rate.Ceiling; }
    }

    private double Capacity => Math.Max(1, _rate.Current * BurstSeconds);

    private double CatchUpCapacity => Math.Max(1, _rate.Current * CatchUpSeconds);

    /// <summary>Splits the cluster's budget evenly over <paramref name="activeSilos"/>.</summary>
    public void SetActiveSilos(int activeSilos)
    {
        lock (_lock)
        {
            Refill(_time.GetTimestamp());
            _rate.SetCeiling(_budget / Math.Max(1, activeSilos));
            _tokens = Math.Min(_tokens, Capacity);
        }
    }

    /// <summary>Completes when the caller may post once.</summary>
    public ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        bool wake;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            Refill(now);
            if (_waiters.Count == 0 && now >= _pausedUntil && _tokens >= 1)
            {
                _tokens -= 1;
                return ValueTask.CompletedTask;
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // Only the first waiter wakes the pump: with waiters it wakes itself when the next token is due.
            wake = _waiters.Count == 0;
            _waiters.Enqueue(waiter);
        }
        if (wake) _waiting.Release();
        return new ValueTask(waiter.Task.WaitAsync(cancellationToken));
    }

    /// <summary>A post answered 429: lower the rate, and hold every post until <paramref name="retryAfter"/> has passed.</summary>
    public void Throttled(TimeSpan? retryAfter)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            Refill(now);
            _throttledSinceDelivery = true;
            _rate.Throttled(now);
            _tokens = Math.Min(_tokens, Capacity);
            if (retryAfter is { } wait && wait > TimeSpan.Zero)
            {
                _pausedUntil = Math.Max(_pausedUntil, now + (long)(wait.TotalSeconds * _time.TimestampFrequency));
            }
        }
    }

    public void Delivered()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            Refill(now);
            _throttledSinceDelivery = false;
            _rate.Delivered(now);
        }
    }

    /// <summary>Releases waiters as tokens accrue, until <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = Release();
            try
            {
                if (wait == Timeout.InfiniteTimeSpan) await _waiting.WaitAsync(cancellationToken).ConfigureAwait(false);
                else await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        lock (_lock)
        {
            while (_waiters.TryDequeue(out var waiter)) waiter.TrySetCanceled(cancellationToken);
        }
    }

    public void Dispose() => _waiting.Dispose();

    /// <summary>
    /// The pump's step: hands out what accrued by now. Tests on a fake clock call it after each advance, as a timer
    /// registered just after an advance would wait for the next one.
    /// </summary>
    internal TimeSpan Release()
    {
        lock (_lock) return ReleaseReady();
    }

    /// <summary>Hands tokens to waiters in order; returns how long until the next one can go (infinite: nobody waits).</summary>
    private TimeSpan ReleaseReady()
    {
        var now = _time.GetTimestamp();
        Refill(now);
        if (_waiters.Count == 0) return Timeout.InfiniteTimeSpan;
        if (now < _pausedUntil) return _time.GetElapsedTime(now, _pausedUntil);
        while (_tokens >= 1 && _waiters.TryDequeue(out var waiter))
        {
            waiter.TrySetResult();
            _tokens -= 1;
        }
        if (_waiters.Count == 0) return Timeout.InfiniteTimeSpan;
        var untilNext = TimeSpan.FromSeconds((1 - _tokens) / _rate.Current);
        return untilNext > MinimumWait ? untilNext : MinimumWait;
    }

    /// <summary>Adds the posts accrued since the last refill, except during a <c>Retry-After</c> pause: its end must be no burst.</summary>
    private void Refill(long now)
    {
        var seconds = (double)(now - Math.Max(_refilledAt, _pausedUntil)) / _time.TimestampFrequency;
        _refilledAt = now;
        var capacity = _waiters.Count > 0 && !_throttledSinceDelivery ? CatchUpCapacity : Capacity;
        if (seconds > 0) _tokens = Math.Min(capacity, _tokens + seconds * _rate.Current);
    }
}

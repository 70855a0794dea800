using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Delivery;

/// <summary>
/// The silo's outbound side: <see cref="MaxConcurrency"/> workers post over one <see cref="DeliveryQueue"/>, so a huge
/// room cannot hold a small room's message behind its fan-out, and one stream's messages reach a recipient in order.
/// Each post first takes a token from the silo's share of the cluster's post budget (<see cref="PostPacer"/>); a post
/// answered 429 lowers that rate and is posted again; a recipient that takes batches gets what waits for it in one post.
/// </summary>
public sealed partial class DeliveryDispatcher : IDeliveryDispatcher, IHostedService, IAsyncDisposable
{
    private readonly IManagementApiClient _client;
    private readonly IGoneConnections _goneConnections;
    private readonly DeliveryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DeliveryDispatcher> _logger;
    private readonly DeliveryMetrics? _metrics;
    private readonly DeliveryQueue _queue = new();
    private readonly ManagementApiOutage _outage;
    private readonly long _maxOutageDelayTicks;
    private int _droppedExpiredSinceSummary;
    private int _droppedFullSinceSummary;
    private int _refusedSinceSummary;
    private long _refused;
    private readonly PostPacer _pacer;
    private readonly BatchRecipientCache _batches;
    private readonly Func<string, bool> _takesBatches;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, long> _gone = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<GoneReport> _goneReports = new();
    private readonly TimeSpan _connectGrace;
    private readonly SemaphoreSlim _goneSignal = new(0);
    // Each 410 report is a grain call of its own: one grain slow to answer holds one slot, never the reports behind it.
    private const int MaxGoneReportsInFlight = 64;
    private readonly SemaphoreSlim _goneReportSlots = new(MaxGoneReportsInFlight);
    // Several shards of one room may live on this silo and track the same message: each adds its own job.
    private readonly ConcurrentDictionary<string, List<DeliveryJob>> _tracked = new(StringComparer.Ordinal);
    private readonly List<Task> _workers = [];
    private readonly Lock _idleLock = new();
    private TaskCompletionSource _idle = NewIdleSignal(completed: true);
    private long _pending;
    private long _posts;
    private long _throttledPosts;
    private int _throttledSinceSummary;
    private int _failedSinceSummary;
    private long _lastSummary = System.Diagnostics.Stopwatch.GetTimestamp();
    private volatile bool _accepting = true;
    private readonly Lock _admissionLock = new();
    private TaskCompletionSource? _admission;

    public DeliveryDispatcher(
        IManagementApiClient client, IGoneConnections goneConnections, IOptions<DeliveryOptions> options,
        ILogger<DeliveryDispatcher> logger, TimeProvider? time = null, DeliveryMetrics? metrics = null, IBatchRecipients? batchRecipients = null,
        IOptions<ConnectionOptions>? connectionOptions = null)
    {
        _connectGrace = connectionOptions?.Value.ConnectGracePeriod ?? TimeSpan.Zero;
        _metrics = metrics;
        _client = client;
        _goneConnections = goneConnections;
        _options = options.Value;
        _time = time ?? TimeProvider.System;
        _logger = logger;
        _pacer = new PostPacer(_options.MaxPostsPerSecond, _time);
        _outage = new ManagementApiOutage(_time);
        _maxOutageDelayTicks = (long)(_options.MaxOutageDelay.TotalSeconds * _time.TimestampFrequency);
        _batches = new BatchRecipientCache(batchRecipients, _options.BatchRegistryRefresh, _time, logger);
        _takesBatches = _batches.TakesBatches;
    }

    public int MaxConcurrency => _options.MaxConcurrency;

    /// <summary>This silo's post rate now (its share of the budget, lowered after 429s).</summary>
    public double PostRate => _pacer.Rate;

    /// <summary>This silo's share of <see cref="DeliveryOptions.MaxPostsPerSecond"/>.</summary>
    public double PostShare => _pacer.Ceiling;

    /// <summary>Whether this silo has read <paramref name="connectionId"/>'s bucket of the batch registry since <paramref name="since"/>.</summary>
    public bool HasReadBatchRegistrySince(string connectionId, long since) => _batches.HasReadSince(connectionId, since);

    /// <summary>Splits the cluster's post budget over <paramref name="activeSilos"/> (cluster membership calls this).</summary>
    public void SetActiveSilos(int activeSilos) => _pacer.SetActiveSilos(activeSilos);

    /// <summary>Posts made by this silo (a batch is one post), and how many of them were answered 429.</summary>
    public (long Posts, long Throttled) PostCounts => (Interlocked.Read(ref _posts), Interlocked.Read(ref _throttledPosts));

    /// <summary>Posts queued on this silo and not yet started (what <see cref="DeliveryOptions.MaxQueued"/> bounds).</summary>
    public int Queued => _queue.Count;

    /// <summary>Since when this silo's posts are refused by the Management API's circuit breaker (UTC), or null while they reach it.</summary>
    public DateTimeOffset? ManagementApiFailingSince => _outage.Since;

    /// <summary>Posts waiting for the Management API to take posts again (each holds a worker; the rest wait in the queue).</summary>
    public int WaitingForManagementApi => _outage.Waiting;

    /// <summary>Senders refused by admission since this silo started (see <see cref="AdmitAsync"/>).</summary>
    public long AdmissionsRefused => Interlocked.Read(ref _refused);

    /// <summary>Deliveries queued or in flight.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Completes when nothing is queued or in flight.</summary>
    public Task WhenIdleAsync()
    {
        lock (_idleLock) return _idle.Task;
    }

    public DispatchResult Dispatch(OutboundMessage message, string stream, string? room, IEnumerable<string> recipients, bool track, string? trackingKey = null, string? user = null)
    {
        var job = new DeliveryJob(message, room, _metrics, user) { QueuedAt = _time.GetTimestamp() };
        // A copy (callers pass their live member sets), counted before the first post can finish.
        string[] ids = [.. recipients];
        var count = ids.Length;

        job.Start(count);
        if (track)
        {
            var jobs = _tracked.GetOrAdd(trackingKey ?? message.Id, _ => []);
            lock (jobs) jobs.Add(job);
        }
        if (count == 0) return new DispatchResult(0, job.Completion);

        if (!_accepting)
        {
            // Shutting down: nothing new is accepted by the host's endpoints, but grains may still finish a turn.
            LogDroppedAtShutdown(count, message.Id);
            for (var i = 0; i < count; i++) job.Complete(ManagementOutcome.Failed);
            return new DispatchResult(count, job.Completion);
        }

        if (_outage.Active && _options.MaxQueued > 0 && _queue.Count + count > _options.MaxQueued)
        {
            // The Management API refuses posts: what waits for it stays within the queue's bound, the rest is dropped now.
            var kept = Math.Max(0, _options.MaxQueued - _queue.Count);
            for (var i = kept; i < count; i++) job.Complete(ManagementOutcome.Failed);
            Dropped(count - kept, queueFull: true);
            if (kept == 0) return new DispatchResult(count, job.Completion);
            ids = ids[..kept];
        }

        lock (_idleLock)
        {
            if (_pending == 0) _idle = NewIdleSignal(completed: false);
            _pending += ids.Length;
        }
        // Presence notices get their own stream: with a short budget they wait behind the room's messages.
        var (lane, priority) = room is null ? (stream, PostPriority.Direct)
            : message.IsPresence ? (DeliveryLanes.Presence(stream), PostPriority.Presence)
            : (stream, PostPriority.Room);
        _queue.Enqueue(lane, priority, job, ids, _takesBatches);
        return new DispatchResult(count, job.Completion);
    }

    /// <summary>
    /// False once the queue has stayed over its mark for <see cref="DeliveryOptions.AdmissionTimeout"/> while the
    /// stream still has posts waiting: the sender is refused, so that the queue's memory does not grow with the length
    /// of a 429 storm (docs/decisions/admission-refusal.md).
    /// </summary>
    public ValueTask<bool> AdmitAsync(string stream)
    {
        var mark = _options.MaxQueued;
        if (mark <= 0 || _queue.Count < mark || !_queue.HasQueued(stream)) return ValueTask.FromResult(true);
        return WaitForAdmissionAsync(stream, mark);
    }

    private async ValueTask<bool> WaitForAdmissionAsync(string stream, int mark)
    {
        var started = _time.GetTimestamp();
        while (_queue.Count >= mark && _queue.HasQueued(stream))
        {
            Task released;
            lock (_admissionLock) released = (_admission ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            // Checked again once registered: a worker may have drained the queue in between.
            if (_queue.Count < mark) return true;
            var left = _options.AdmissionTimeout - _time.GetElapsedTime(started);
            // While the Management API refuses posts, Dispatch itself keeps at most MaxQueued waiting and drops (and
            // counts) the rest: the sender is let in, so its message is in history for resume, as the outage promises.
            if (left <= TimeSpan.Zero && _outage.Active) return true;
            if (left <= TimeSpan.Zero)
            {
                Interlocked.Increment(ref _refusedSinceSummary);
                Interlocked.Increment(ref _refused);
                _metrics?.AdmissionRefused();
                LogAdmissionRefused(stream, _queue.Count);
                return false;
            }
            try
            {
                await released.WaitAsync(left, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
        return true;
    }

    /// <summary>Wakes the senders waiting in <see cref="AdmitAsync"/> once the queue is below its mark.</summary>
    private void ReleaseAdmissions()
    {
        if (Volatile.Read(ref _admission) is null || _queue.Count >= _options.MaxQueued) return;
        TaskCompletionSource? released;
        lock (_admissionLock)
        {
            released = _admission;
            _admission = null;
        }
        released?.TrySetResult();
    }

    public bool IsTracking(string trackingKey) => _tracked.ContainsKey(trackingKey);

    public async Task<DeliverySummary> WaitAsync(string trackingKey, TimeSpan timeout)
    {
        var messageId = trackingKey;
        if (!_tracked.TryGetValue(trackingKey, out var tracked))
        {
            return new DeliverySummary(messageId, 0, 0, 0, 0, Complete: false);
        }
        DeliveryJob[] jobs;
        lock (tracked) jobs = [.. tracked];
        if (jobs.Length > 0) messageId = jobs[0].Message.Id;
        var all = Task.WhenAll(jobs.Select(j => j.Completion));
        try
        {
            await all.WaitAsync(timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        var complete = all.IsCompletedSuccessfully;
        if (complete) _tracked.TryRemove(trackingKey, out _);
        return DeliverySummary.Sum(messageId, jobs.Select(j => j.Summary(j.Completion.IsCompleted))) with { Complete = complete };
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        for (var i = 0; i < _options.MaxConcurrency; i++) _workers.Add(Task.Run(RunWorkerAsync, CancellationToken.None));
        _workers.Add(Task.Run(() => _pacer.RunAsync(_stopping.Token), CancellationToken.None));
        _workers.Add(Task.Run(() => _batches.RunAsync(_stopping.Token), CancellationToken.None));
        _workers.Add(Task.Run(RunGoneReporterAsync, CancellationToken.None));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _accepting = false;
        try
        {
            await WhenIdleAsync().WaitAsync(_options.DrainTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            LogAbandoned(Pending);
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_workers).ConfigureAwait(false);
        await FlushGoneReportsAsync().ConfigureAwait(false);
        await WhenGoneReportsEndedAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested) await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        _queue.Dispose();
        _pacer.Dispose();
        _batches.Dispose();
        _goneReportSlots.Dispose();
    }

    private void CompleteOne()
    {
        TaskCompletionSource? idle = null;
        lock (_idleLock)
        {
            if (--_pending == 0) idle = _idle;
        }
        idle?.TrySetResult();
    }

    private static TaskCompletionSource NewIdleSignal(bool completed)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed) signal.SetResult();
        return signal;
    }

    private async Task RunWorkerAsync()
    {
        var token = _stopping.Token;
        // A token taken for an item whose recipient turned out busy is kept for the next item.
        var holdsToken = false;
        while (true)
        {
            DeliveryItem? next;
            try
            {
                await _queue.WaitAsync(token).ConfigureAwait(false);
                if (!holdsToken) await _pacer.AcquireAsync(token).ConfigureAwait(false);
                holdsToken = true;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            // Taken only now, holding a token, so that the most urgent item waiting goes next.
            next = _queue.Take();
            ReleaseAdmissions();
            if (next is null) continue;
            holdsToken = false;

            // Then the items that waited for the same recipient, each with a token of its own.
            while (next is { } item)
            {
                var beside = _queue.TakeBeside(item.ConnectionId, _options.MaxBatchBytes - BatchEnvelope.Overhead - item.Job.Message.Payload.Length);
                if (beside.Count > 0) ReleaseAdmissions();
                // Held: answered 410, the recipient stays busy until its grain has said whether it is gone.
                if (await DeliverAsync(item, beside, token).ConfigureAwait(false)) break;
                for (var i = 0; i <= beside.Count; i++) CompleteOne();
                next = _queue.Finished(item.ConnectionId);
                if (next is null) break;
                // A parked item taken counts as a queued item taken.
                ReleaseAdmissions();
                try
                {
                    await _pacer.AcquireAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Posts one item (with the items beside it). True when the post is held for its 410 report (see <see cref="HoldGone"/>).</summary>
    private async Task<bool> DeliverAsync(DeliveryItem item, List<DeliveryItem> beside, CancellationToken token)
    {
        var connectionId = item.ConnectionId;
        if (_gone.ContainsKey(connectionId))
        {
            item.Job.Complete(ManagementOutcome.Gone);
            foreach (var other in beside) other.Job.Complete(ManagementOutcome.Gone);
            return false;
        }

        var (payload, sha256) = beside.Count == 0
            ? (item.Job.Message.Payload, item.Job.Message.PayloadSha256)
            : BatchEnvelope.Build([item.Job.Message, .. beside.Select(b => b.Job.Message)]);
        if (await PostThroughOutagesAsync(item, payload, sha256, token).ConfigureAwait(false) is not { } result)
        {
            item.Job.Complete(ManagementOutcome.Failed);
            foreach (var other in beside) other.Job.Complete(ManagementOutcome.Failed);
            Dropped(1 + beside.Count, queueFull: false);
            return false;
        }
        if (result.Outcome == ManagementOutcome.Gone && !token.IsCancellationRequested)
        {
            HoldGone(connectionId, [item, .. beside], item.Job.Room, item.Job.User);
            return true;
        }

        item.Job.Complete(result.Outcome);
        foreach (var other in beside) other.Job.Complete(result.Outcome);
        var job = item.Job;
        switch (result.Outcome)
        {
            case ManagementOutcome.Throttled or ManagementOutcome.Failed:
                // Per post at Debug: a 429 storm must not turn into thousands of warnings; SummarizeFailures reports them.
                Interlocked.Increment(ref result.Outcome == ManagementOutcome.Throttled ? ref _throttledSinceSummary : ref _failedSinceSummary);
                LogDeliveryFailed(result.Outcome, result.StatusCode, result.Attempts, job.Message.Id, job.Room, connectionId, result.Detail);
                break;
            case ManagementOutcome.TooLarge:
                LogTooLarge(job.Message.Id, job.Room, payload.Length);
                break;
        }
        return false;
    }

    /// <summary>
    /// Posts, and while the Management API's circuit breaker refuses posts, waits for it to take them again (holding the
    /// recipient, so its later posts stay behind this one) until <see cref="DeliveryOptions.MaxOutageDelay"/> after the
    /// oldest message of the post was queued. Null: that deadline passed, the post is dropped.
    /// </summary>
    private async Task<ManagementResult?> PostThroughOutagesAsync(DeliveryItem item, byte[] payload, string sha256, CancellationToken token)
    {
        var deadline = item.Job.QueuedAt + _maxOutageDelayTicks;
        // Queued before or during an outage and past its deadline already: it is not posted late.
        if (_time.GetTimestamp() >= deadline && _outage.Outlived(item.Job.QueuedAt)) return null;
        // A post whose retries all failed just before the breaker opened gets one more round, which joins the outage.
        var oneMoreRound = _maxOutageDelayTicks > 0;
        var first = true;
        while (true)
        {
            ManagementApiOutage.Turn turn;
            try
            {
                turn = await _outage.WaitTurnAsync(deadline, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return new ManagementResult(ManagementOutcome.Failed, 0, null, "shutting down", 0);
            }
            if (turn == ManagementApiOutage.Turn.Expired) return null;
            var probe = turn == ManagementApiOutage.Turn.Probe;
            // The worker took a token for the first attempt; every post after it takes its own, as the budget says.
            if (!first)
            {
                try
                {
                    await _pacer.AcquireAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return new ManagementResult(ManagementOutcome.Failed, 0, null, "shutting down", 0);
                }
            }
            first = false;
            var result = await PostPacedAsync(item.ConnectionId, payload, sha256, item.Job.Message.Id, token).ConfigureAwait(false);
            var failed = result is { Outcome: ManagementOutcome.Failed, IsTransient: true };
            // A probe that failed found the API failing still, whether or not its breaker said so.
            var refused = result.CircuitOpen || (probe && failed);
            if (token.IsCancellationRequested) return result;
            if (!refused && failed && oneMoreRound)
            {
                oneMoreRound = false;
                continue;
            }
            // Its second round failed too: the API is failing although the breaker has not opened yet (too few calls for
            // its sampling, or a slow machine), so this post waits for it as a refused one would, one probe at a time.
            if (failed && _maxOutageDelayTicks > 0) refused = true;
            if (!refused)
            {
                if (_outage.Reached(probe) is { } lasted) LogManagementApiBack(lasted, _outage.Waiting);
                return result;
            }
            if (_outage.Refused(probe)) LogManagementApiFailing(_options.MaxOutageDelay, result.Detail);
            if (_time.GetTimestamp() >= deadline) return null;
        }
    }

    private void Dropped(int count, bool queueFull)
    {
        Interlocked.Add(ref queueFull ? ref _droppedFullSinceSummary : ref _droppedExpiredSinceSummary, count);
        _metrics?.Dropped(queueFull ? "outage_queue_full" : "outage_timeout", count);
    }

    /// <summary>
    /// Posts; a 429 lowers this silo's rate, waits out its Retry-After and posts again with a new token, until
    /// <see cref="DeliveryOptions.ThrottledRetryTimeout"/> has passed.
    /// </summary>
    private async Task<ManagementResult> PostPacedAsync(string connectionId, byte[] payload, string sha256, string messageId, CancellationToken token)
    {
        var started = _time.GetTimestamp();
        var throttled = 0;
        while (true)
        {
            var result = await PostOnceAsync(connectionId, payload, sha256, messageId, token).ConfigureAwait(false);
            if (result.Outcome != ManagementOutcome.Throttled)
            {
                if (result.Outcome == ManagementOutcome.Delivered) _pacer.Delivered();
                return result with { Attempts = result.Attempts + throttled };
            }
            throttled += result.Attempts;
            _pacer.Throttled(result.RetryAfter);
            Interlocked.Increment(ref _throttledPosts);
            if (_time.GetElapsedTime(started) >= _options.ThrottledRetryTimeout) return result with { Attempts = throttled };
            _metrics?.Retried(result, null);
            try
            {
                await _pacer.AcquireAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return new ManagementResult(ManagementOutcome.Failed, 0, null, "shutting down", throttled);
            }
        }
    }

    private async Task<ManagementResult> PostOnceAsync(string connectionId, byte[] payload, string sha256, string messageId, CancellationToken token)
    {
        _metrics?.PostStarted();
        Interlocked.Increment(ref _posts);
        try
        {
            return await _client.PostOnceIfThrottledAsync(connectionId, payload, sha256, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new ManagementResult(ManagementOutcome.Failed, 0, null, "shutting down", 0);
        }
        catch (Exception e)
        {
            LogPostCrashed(e, messageId);
            return new ManagementResult(ManagementOutcome.Failed, 0, null, e.Message, 0);
        }
        finally
        {
            _metrics?.PostEnded();
        }
    }

    /// <summary>
    /// Holds a post answered 410 and reports the 410 to the connection's grain: the recipient stays busy meanwhile, so
    /// its later posts wait behind this one. Gone: the post ends gone, the id is remembered (later posts skip it).
    /// Kept (its <c>$connect</c> was accepted moments ago, API Gateway may not have finished it): the post is made
    /// again once <see cref="ConnectionOptions.ConnectGracePeriod"/> has passed, ahead of the ones behind it.
    /// </summary>
    private void HoldGone(string connectionId, List<DeliveryItem> held, string? room, string? user)
    {
        // A report counts as pending work until the grain has it, so "idle" means every 410 has been acted on.
        lock (_idleLock) _pending++;
        _goneReports.Enqueue(new GoneReport(connectionId, room, user, held));
        _goneSignal.Release();
    }

    private void EndHeld(GoneReport report, ManagementOutcome outcome)
    {
        foreach (var item in report.Held) item.Job.Complete(outcome);
        for (var i = 0; i < report.Held.Count; i++) CompleteOne();
    }

    private async Task RetryHeldAsync(GoneReport report)
    {
        try
        {
            await Task.Delay(_connectGrace, _time, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            EndHeld(report, ManagementOutcome.Failed);
            return;
        }
        _queue.Resume(report.ConnectionId, report.Held);
    }

    private async Task RunGoneReporterAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _goneSignal.WaitAsync(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await FlushGoneReportsAsync().ConfigureAwait(false);
            Prune();
            SummarizeFailures();
        }
    }

    /// <summary>Starts every queued report, each as soon as one of <see cref="MaxGoneReportsInFlight"/> slots is free.</summary>
    private async Task FlushGoneReportsAsync()
    {
        // Duplicates are harmless (Gone is idempotent) and each one is pending work, so none is dropped here.
        while (_goneReports.TryDequeue(out var report))
        {
            await _goneReportSlots.WaitAsync().ConfigureAwait(false);
            _ = ReportGoneAsync(report);
        }
    }

    private async Task WhenGoneReportsEndedAsync()
    {
        for (var i = 0; i < MaxGoneReportsInFlight; i++) await _goneReportSlots.WaitAsync().ConfigureAwait(false);
        _goneReportSlots.Release(MaxGoneReportsInFlight);
    }

    private async Task ReportGoneAsync(GoneReport report)
    {
        var gone = true;
        try
        {
            // The grain keeps a connection whose $connect it accepted moments ago; then the post is made again later.
            gone = await _goneConnections.GoneAsync(report.ConnectionId, report.Room, report.User).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogGoneReportFailed(e, report.ConnectionId);
        }
        try
        {
            if (!gone && _connectGrace > TimeSpan.Zero)
            {
                _ = RetryHeldAsync(report);
                return;
            }
            // Remembered only when gone: a connection kept by its grain must not have its later posts skipped.
            if (gone) _gone[report.ConnectionId] = _time.GetTimestamp() + (long)(_options.GoneMemory.TotalSeconds * _time.TimestampFrequency);
            EndHeld(report, ManagementOutcome.Gone);
            _queue.Resume(report.ConnectionId, []);
        }
        finally
        {
            _goneReportSlots.Release();
            CompleteOne();
        }
    }

    /// <summary>At most one warning per 10 s for deliveries that ended throttled or failed after their retries, posts dropped, senders refused.</summary>
    private void SummarizeFailures()
    {
        if (System.Diagnostics.Stopwatch.GetElapsedTime(_lastSummary) < TimeSpan.FromSeconds(10)) return;
        _lastSummary = System.Diagnostics.Stopwatch.GetTimestamp();
        var throttled = Interlocked.Exchange(ref _throttledSinceSummary, 0);
        var failed = Interlocked.Exchange(ref _failedSinceSummary, 0);
        if (throttled + failed > 0) LogFailureSummary(throttled, failed);
        var expired = Interlocked.Exchange(ref _droppedExpiredSinceSummary, 0);
        var full = Interlocked.Exchange(ref _droppedFullSinceSummary, 0);
        if (expired + full > 0) LogDroppedInOutage(expired, _options.MaxOutageDelay, full, _options.MaxQueued);
        var refused = Interlocked.Exchange(ref _refusedSinceSummary, 0);
        if (refused > 0) LogAdmissionsRefused(refused, _options.MaxQueued, _options.AdmissionTimeout, _queue.Count);
    }

    private void Prune()
    {
        var now = _time.GetTimestamp();
        foreach (var (id, expires) in _gone)
        {
            if (expires < now) _gone.TryRemove(id, out _);
        }
        var cutoff = _time.GetUtcNow() - _options.TrackedSummaryRetention;
        foreach (var (id, jobs) in _tracked)
        {
            bool stale;
            lock (jobs) stale = jobs.TrueForAll(j => j.FinishedAt is { } finished && finished < cutoff);
            if (stale) _tracked.TryRemove(id, out _);
        }
    }

    /// <summary>A 410 to report, with the post it held (its items, oldest first).</summary>
    private readonly record struct GoneReport(string ConnectionId, string? Room, string? User, List<DeliveryItem> Held);
}

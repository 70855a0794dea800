using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// One bucket of the sweep index (see <see cref="SweepBuckets"/>). Each reminder tick either drops the whole bucket
/// (past API Gateway's connection lifetime: no need to ask) or starts a pass that asks API Gateway about each id with
/// GetConnection, spread over half a sweep interval and paced, in turn with the silo's other buckets, by its
/// <see cref="SweepLimiter"/>; a 410 has the connection removed everywhere by its own grain.
/// </summary>
/// <remarks>
/// Reentrant, so a pass awaiting HTTP never holds up the registrations of <c>$connect</c> calls. Every await was
/// checked: the id set in memory is only changed synchronously; its stored copy is a member set
/// (<see cref="IMemberSets"/>), so a registration stores one id, and removals are grouped and written by one writer
/// at a time (<see cref="PersistAsync"/>); retiring an empty bucket is serialized against registrations by
/// <see cref="_retire"/>.
/// </remarks>
[GrainType(TetherGrainTypes.SweepBucket)]
[Reentrant]
public sealed partial class SweepBucketGrain(
    IMemberSets memberSets,
    IManagementApiClient managementApi,
    SweepLimiter limiter,
    IOptions<ConnectionOptions> options,
    TimeProvider time,
    ILogger<SweepBucketGrain> logger) : Grain, ISweepBucketGrain, IRemindable
{
    /// <summary>The bucket's one durable reminder.</summary>
    public const string Reminder = "sweep";

    /// <summary>How long a removal may wait before it is written, so a burst of disconnects costs one write.</summary>
    private static readonly TimeSpan RemovalWriteDelay = TimeSpan.FromSeconds(2);

    /// <summary>Connections whose expiry or 410 is handed to their grains at once, when a bucket expires.</summary>
    private const int ExpiryBatch = 64;

    private readonly ConnectionOptions _options = options.Value;
    private HashSet<string> _ids = null!;
    // Removals not yet written, and the write under way: removals are grouped, one writer at a time.
    private readonly HashSet<string> _removed = new(StringComparer.Ordinal);
    private Task? _write;
    private Task? _reminderRegistration;
    private bool _reminderActive;
    private Task? _retire;
    private IGrainTimer? _removalWrite;
    private Queue<string>? _pass;
    private int _perSlice;
    private bool _checking;
    private IGrainTimer? _pacer;

    private string SetName => "sweep/" + this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _ids = new HashSet<string>(await memberSets.ReadAsync(SetName), StringComparer.Ordinal);
        // Ids are only ever stored after the bucket's reminder was registered, and a bucket unregisters its reminder
        // only after deleting its stored ids.
        _reminderActive = _ids.Count > 0;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_removed.Count == 0 && _write is null) return;
        try
        {
            await PersistAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogWriteFailed(e, this.GetPrimaryKeyString());
        }
    }

    public async Task Register(string connectionId)
    {
        while (_retire is { } retiring) await retiring;
        // In memory at once, so that a retirement meanwhile sees the bucket is not empty; and a removal of the same id
        // still waiting to be written must not follow this add.
        var added = _ids.Add(connectionId);
        _removed.Remove(connectionId);
        try
        {
            // The reminder first: a crash between the two leaves a reminder over a bucket without this id (it retires
            // on its next tick), never an id without a reminder.
            await EnsureReminderAsync();
            await memberSets.AddAsync(SetName, connectionId);
        }
        catch
        {
            // Not stored: not registered (the connect fails and says so).
            if (added) _ids.Remove(connectionId);
            throw;
        }
    }

    public Task Unregister(string connectionId)
    {
        if (_ids.Remove(connectionId)) Changed(connectionId);
        return Task.CompletedTask;
    }

    public Task<bool> Contains(string connectionId) => Task.FromResult(_ids.Contains(connectionId));

    public Task<int> Count() => Task.FromResult(_ids.Count);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != Reminder || _retire is not null) return;
        if (_ids.Count == 0)
        {
            await RetireAsync();
            return;
        }
        if (time.GetUtcNow() - SweepBuckets.End(this.GetPrimaryKeyString()) > _options.MaxLifetime)
        {
            await ExpireAsync();
            return;
        }
        StartPass();
    }

    /// <summary>API Gateway has closed every connection of this bucket by now: each is removed without asking.</summary>
    private async Task ExpireAsync()
    {
        StopPass();
        foreach (var chunk in _ids.ToArray().Chunk(ExpiryBatch))
        {
            await Task.WhenAll(chunk.Select(async id =>
            {
                try
                {
                    await Connection(id).Sweep(expired: true);
                    Forget(id);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Kept: the next tick tries again.
                    LogSweepFailed(e, id);
                }
            }));
        }
        if (_ids.Count == 0) await RetireAsync();
    }

    /// <summary>Starts asking API Gateway about every id, a slice at a time, unless the previous pass is still going.</summary>
    private void StartPass()
    {
        if (_pass is not null) return;
        _pass = new Queue<string>(_ids);
        var spread = _options.SweepInterval / 2;
        var slice = TimeSpan.FromTicks(Math.Clamp(spread.Ticks / 10, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _perSlice = (int)Math.Max(1, Math.Ceiling(_pass.Count * (double)slice.Ticks / spread.Ticks));
        _pacer = this.RegisterGrainTimer(CheckSliceAsync,
            new GrainTimerCreationOptions(TimeSpan.Zero, slice) { Interleave = true, KeepAlive = true });
    }

    private async Task CheckSliceAsync(CancellationToken cancellationToken)
    {
        if (_checking || _pass is not { } pass) return;
        _checking = true;
        var checks = new List<Task>(_perSlice);
        try
        {
            // Each check goes out as soon as its turn comes; while this slice waits, the pacer's ticks pass it by.
            while (checks.Count < _perSlice && ReferenceEquals(_pass, pass) && pass.TryPeek(out var id))
            {
                if (!_ids.Contains(id))
                {
                    pass.Dequeue();
                    continue;
                }
                if (!await limiter.WaitTurnAsync(cancellationToken)) break;
                if (!ReferenceEquals(_pass, pass) || pass.Count == 0) break;
                checks.Add(CheckAsync(pass.Dequeue(), cancellationToken));
            }
            await Task.WhenAll(checks);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The pass was stopped or the bucket is leaving memory.
        }
        finally
        {
            _checking = false;
            // Disposed at the end of its own callback, not before: disposing a timer cancels its running callback.
            if (ReferenceEquals(_pass, pass) && pass.Count == 0) StopPass();
        }
    }

    private async Task CheckAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var (result, _) = await managementApi.GetAsync(id, cancellationToken);
            if (result.Outcome != ManagementOutcome.Gone || !_ids.Contains(id)) return;
            // The connection's grain decides (it keeps one accepted moments ago) and removes it everywhere, itself
            // included in this bucket; an id its grain no longer knows is dropped here.
            if (!await Connection(id).Sweep(expired: false)) Forget(id);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSweepFailed(e, id);
        }
    }

    private void StopPass()
    {
        _pacer?.Dispose();
        _pacer = null;
        _pass = null;
    }

    private void Forget(string id)
    {
        if (_ids.Remove(id)) Changed(id);
    }

    /// <summary>A removal: written a little later, with whatever else was removed meanwhile.</summary>
    private void Changed(string id)
    {
        _removed.Add(id);
        _removalWrite ??= this.RegisterGrainTimer(WriteRemovalsAsync,
            new GrainTimerCreationOptions(RemovalWriteDelay, Timeout.InfiniteTimeSpan) { Interleave = true, KeepAlive = true });
    }

    private async Task WriteRemovalsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PersistAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Harmless: the ids stay stored until a later write, and a stored id that is gone answers 410 when checked.
            LogWriteFailed(e, this.GetPrimaryKeyString());
        }
        finally
        {
            _removalWrite?.Dispose();
            _removalWrite = null;
        }
    }

    /// <summary>Completes once every removal made before the call is in storage (one writer at a time, each write takes all pending).</summary>
    private async Task PersistAsync()
    {
        while (_write is not null || _removed.Count > 0) await (_write ?? StartWrite());
    }

    private Task StartWrite()
    {
        var write = WriteAsync();
        _write = write.IsCompleted ? null : write;
        return write;
    }

    private async Task WriteAsync()
    {
        string[] removing = [.. _removed];
        _removed.Clear();
        try
        {
            await memberSets.RemoveAsync(SetName, removing);
        }
        catch
        {
            // Still to be written, unless registered again meanwhile.
            foreach (var id in removing) if (!_ids.Contains(id)) _removed.Add(id);
            throw;
        }
        finally
        {
            _write = null;
        }
    }

    private async Task EnsureReminderAsync()
    {
        if (_reminderActive) return;
        _reminderRegistration ??= RegisterReminderAsync();
        try
        {
            await _reminderRegistration;
        }
        finally
        {
            _reminderRegistration = null;
        }
    }

    private async Task RegisterReminderAsync()
    {
        // The first tick waits one interval: the bucket's connections were all accepted within the last minute.
        await this.RegisterOrUpdateReminder(Reminder, _options.SweepInterval, _options.SweepInterval);
        _reminderActive = true;
    }

    /// <summary>An empty bucket deletes its stored state, then its reminder (in that order, see <see cref="OnActivateAsync"/>), and goes.</summary>
    private async Task RetireAsync()
    {
        var retire = RetireCoreAsync();
        _retire = retire.IsCompleted ? null : retire;
        await retire;
    }

    private async Task RetireCoreAsync()
    {
        try
        {
            StopPass();
            await PersistAsync();
            if (_ids.Count > 0) return;
            await memberSets.DeleteAsync(SetName);
            if (await this.GetReminder(Reminder) is { } reminder) await this.UnregisterReminder(reminder);
            _reminderActive = false;
            this.DeactivateOnIdle();
        }
        finally
        {
            _retire = null;
        }
    }

    private IConnectionGrain Connection(string id) => GrainFactory.Connection(id);
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Keeps this silo's room shards where <see cref="RoomShardPlacementDirector"/> would place them now. Orleans places a
/// grain only when it activates, so without this a silo that joins carries no existing shard, and after one leaves the
/// others keep the spread computed for the old count. On a change of the active silos (and every
/// <see cref="Recheck"/>, for shards placed by a silo whose view was behind) it asks each misplaced local shard to
/// move, at most <see cref="RoomOptions.RebalanceMovesPerSecond"/> a second. A shard moves only once the posts it
/// queued here have ended (see <c>docs/decisions/shard-rebalance.md</c>).
/// </summary>
public sealed partial class RoomShardRebalancer(
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    IGrainFactory grains,
    IOptions<RoomOptions> roomOptions,
    TimeProvider time,
    ILogger<RoomShardRebalancer> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    // Time for the other silos to see the same change, so that a moved shard is placed by the same count of silos.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    /// <summary>How often local shards are checked without a membership change.</summary>
    internal static readonly TimeSpan Recheck = TimeSpan.FromSeconds(10);

    private readonly int _movesPerSecond = roomOptions.Value.RebalanceMovesPerSecond;
    private readonly ConcurrentDictionary<string, byte> _local = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _changed = new(0);
    private SiloAddress[] _silos = [];
    private Task _running = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RoomShardRebalancer), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    /// <summary>A shard activation on this silo began.</summary>
    internal void Activated(string shardKey) => _local.TryAdd(shardKey, 0);

    /// <summary>A shard activation on this silo ends.</summary>
    internal void Deactivated(string shardKey) => _local.TryRemove(shardKey, out _);

    /// <summary>Whether the rule places this shard on another active silo than this one.</summary>
    internal bool IsMisplaced(string shardKey)
    {
        var silos = Volatile.Read(ref _silos);
        return silos.Length > 0 && !silos[RoomShardPlacementDirector.SiloIndex(shardKey, silos.Length)].Equals(localSilo.SiloAddress);
    }

    private Task StartAsync(CancellationToken cancellationToken)
    {
        if (_movesPerSecond > 0) _running = Task.WhenAll(WatchMembershipAsync(_stopping.Token), MoveAsync(_stopping.Token));
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _changed.Dispose();
    }

    private async Task WatchMembershipAsync(CancellationToken token)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(token))
            {
                // The same silos the placement director is offered: the active ones, in address order.
                SiloAddress[] active = [.. snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).Order()];
                if (active.SequenceEqual(Volatile.Read(ref _silos))) continue;
                Volatile.Write(ref _silos, active);
                _changed.Release();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task MoveAsync(CancellationToken token)
    {
        var pace = TimeSpan.FromSeconds(1.0 / _movesPerSecond);
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (await _changed.WaitAsync(Recheck, token))
                {
                    await Task.Delay(Settle, time, token);
                    while (_changed.CurrentCount > 0) await _changed.WaitAsync(token);
                }
                var moved = 0;
                var misplaced = _local.Keys.Where(IsMisplaced).ToList();
                foreach (var shard in misplaced)
                {
                    // Only asked: the shard decides, and says no while it holds posts for a hand-over (asked again later).
                    if (IsMisplaced(shard) && await grains.GetGrain<IRoomShardGrain>(shard).MoveIfMisplaced()) moved++;
                    await Task.Delay(pace, time, token);
                }
                if (misplaced.Count > 0) LogMoved(moved, misplaced.Count, Volatile.Read(ref _silos).Length);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A shard call failing (its silo went away meanwhile) ends this pass; the next one starts over.
                LogPassFailed(e);
            }
        }
    }
}

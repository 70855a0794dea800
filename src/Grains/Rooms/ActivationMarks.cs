using System.Diagnostics;

namespace Tether.Grains;

/// <summary>
/// The activations of one room or room shard whose queued posts may not have ended yet, stored as a set beside its
/// members: an activation adds its mark when it starts and removes it once its posts ended at deactivation. Orleans can
/// start the next activation on another silo while the previous one still waits for its posts (its silo shutting down,
/// the silo that registered it in the directory leaving, a deactivation past Orleans' timeout), so the next one holds
/// its posts until the earlier marks are gone or their silos have left the cluster (after kill -9 the queue died with
/// the silo). Unlike a member set, two activations write this one at once, each only its own mark.
/// </summary>
internal sealed class ActivationMarks(IMemberSets store, IClusterMembershipService membership, string name, SiloAddress silo, string activation)
{
    // How often a waiting activation looks again.
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    private readonly string _mine = silo.ToParsableString() + "|" + activation;

    /// <summary>The marks of a room shard (<paramref name="shardKey"/>: <c>{index}/{room}</c>).</summary>
    public static string OfShard(string shardKey) => "drain/" + shardKey;

    /// <summary>The marks of a room: never a shard's, whose keys start with the shard's index.</summary>
    public static string OfRoom(string room) => "drain/room/" + room;

    /// <summary>Stores this activation's mark; the marks of earlier activations found beside it.</summary>
    public async Task<IReadOnlyList<string>> EnterAsync()
    {
        // Both at once, one round trip: the earlier marks were stored before this activation began, so the read finds
        // them whether or not it runs after the add, and this activation's own mark is left out either way.
        var adding = store.AddAsync(name, _mine);
        var reading = store.ReadAsync(name);
        await Task.WhenAll(adding, reading);
        return [.. (await reading).Where(m => m != _mine)];
    }

    /// <summary>
    /// Removes this activation's mark: its posts ended (or it gave up waiting for them). Returns the storage failure when
    /// it could not (the next activation then waits for the mark until its timeout), for the caller to log.
    /// </summary>
    public async Task<Exception?> TryLeaveAsync()
    {
        try
        {
            await store.RemoveAsync(name, [_mine]);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e;
        }
    }

    /// <summary>
    /// <see cref="EndedAsync"/> that never throws: Ended false when <paramref name="timeout"/> passed first, Failure set
    /// when storage failed. Either way the caller goes on (order is then best effort) rather than holding forever.
    /// </summary>
    public async Task<(bool Ended, Exception? Failure)> WaitForEarlierAsync(IReadOnlyList<string> earlier, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await EndedAsync(earlier, timeout, cancellationToken), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return (false, e);
        }
    }

    /// <summary>
    /// Completes with true once none of <paramref name="earlier"/> is marked any more or its silo has left, false when
    /// <paramref name="timeout"/> passed or <paramref name="cancellationToken"/> was cancelled first.
    /// </summary>
    private async Task<bool> EndedAsync(IReadOnlyList<string> earlier, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var waiting = earlier;
        while (true)
        {
            // A silo that left posts nothing more; its marks are dropped so that later activations do not wait for them.
            string[] gone = [.. waiting.Where(m => Left(SiloOf(m)))];
            if (gone.Length > 0) await store.RemoveAsync(name, gone);
            var marked = await store.ReadAsync(name);
            waiting = [.. waiting.Where(m => marked.Contains(m) && !gone.Contains(m))];
            if (waiting.Count == 0) return true;
            if (Stopwatch.GetElapsedTime(started) >= timeout || cancellationToken.IsCancellationRequested) return false;
            // A cancelled delay ends early; the next pass then returns false. Continues on the grain's scheduler.
            await Task.Delay(Poll, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static SiloAddress SiloOf(string mark) => SiloAddress.FromParsableString(mark[..mark.IndexOf('|', StringComparison.Ordinal)]);

    private bool Left(SiloAddress of) => membership.CurrentSnapshot.GetSiloStatus(of) is SiloStatus.Dead or SiloStatus.None;
}

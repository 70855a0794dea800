using System.Diagnostics;

namespace Tether.Grains;

/// <summary>
/// The activations of one room shard whose queued posts may not have ended yet, stored as a set beside the shard's
/// members: an activation adds its mark when it starts and removes it once its posts ended at deactivation. Orleans can
/// start a shard's next activation on another silo while the previous one still waits for its posts (its silo shutting
/// down, the silo that registered it in the directory leaving, a deactivation past Orleans' timeout), so the next one
/// holds its posts until the earlier marks are gone or their silos have left the cluster (after kill -9 the queue died
/// with the silo). Unlike a member set, two activations write this one at once, each only its own mark.
/// </summary>
internal sealed class ShardActivationMarks(IMemberSets store, IClusterMembershipService membership, string shardKey, SiloAddress silo, string activation)
{
    // How often a waiting activation looks again.
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    private readonly string _name = "drain/" + shardKey;
    private readonly string _mine = silo.ToParsableString() + "|" + activation;

    /// <summary>Stores this activation's mark; the marks of earlier activations found beside it.</summary>
    public async Task<IReadOnlyList<string>> EnterAsync()
    {
        await store.AddAsync(_name, _mine);
        return [.. (await store.ReadAsync(_name)).Where(m => m != _mine)];
    }

    /// <summary>Removes this activation's mark: its posts ended (or it gave up waiting for them).</summary>
    public Task LeaveAsync() => store.RemoveAsync(_name, [_mine]);

    /// <summary>
    /// Completes with true once none of <paramref name="earlier"/> is marked any more or its silo has left, false when
    /// <paramref name="timeout"/> passed first.
    /// </summary>
    public async Task<bool> EndedAsync(IReadOnlyList<string> earlier, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        var waiting = earlier;
        while (true)
        {
            // A silo that left posts nothing more; its marks are dropped so that later activations do not wait for them.
            string[] gone = [.. waiting.Where(m => Left(SiloOf(m)))];
            if (gone.Length > 0) await store.RemoveAsync(_name, gone);
            var marked = await store.ReadAsync(_name);
            waiting = [.. waiting.Where(m => marked.Contains(m) && !gone.Contains(m))];
            if (waiting.Count == 0) return true;
            if (Stopwatch.GetElapsedTime(started) >= timeout) return false;
            await Task.Delay(Poll);
        }
    }

    private static SiloAddress SiloOf(string mark) => SiloAddress.FromParsableString(mark[..mark.IndexOf('|', StringComparison.Ordinal)]);

    private bool Left(SiloAddress of) => membership.CurrentSnapshot.GetSiloStatus(of) is SiloStatus.Dead or SiloStatus.None;
}

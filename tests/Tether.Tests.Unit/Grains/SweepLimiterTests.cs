using System.Diagnostics;
using Microsoft.Extensions.Options;
using Tether.Contracts;

namespace Tether.Tests.Grains;

/// <summary>The sweep's per-silo pace: a bucket that keeps asking cannot keep the others' checks waiting.</summary>
public sealed class SweepLimiterTests
{
    [Fact]
    public async Task Turns_go_in_the_order_asked_so_busy_buckets_cannot_starve_another()
    {
        using var limiter = new SweepLimiter(Options.Create(new ConnectionOptions { SweepChecksPerSecond = 2 }));
        using var stop = new CancellationTokenSource();
        var taken = 0;

        // Three buckets that ask again the moment they get a turn: more than the silo's two turns a second.
        async Task BusyAsync()
        {
            try
            {
                while (await limiter.WaitTurnAsync(stop.Token)) Interlocked.Increment(ref taken);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
        var busy = Enumerable.Range(0, 3).Select(_ => Task.Run(BusyAsync)).ToArray();
        while (Volatile.Read(ref taken) < 2) await Task.Yield();

        // A fourth bucket asks once: three waiters are ahead of it, so at most two refills pass before its turn.
        var clock = Stopwatch.StartNew();
        Assert.True(await limiter.WaitTurnAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        var waited = clock.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(busy);
        // Two refills (about 2 s), with room for a busy machine's late timers; a starved bucket would wait on and on.
        Assert.True(waited < TimeSpan.FromSeconds(5), $"waited {waited.TotalSeconds:F1} s behind three busy buckets");
    }
}

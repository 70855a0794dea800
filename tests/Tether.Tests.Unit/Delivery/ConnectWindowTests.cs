using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tether.Contracts;
using Tether.Delivery;

namespace Tether.Tests.Delivery;

/// <summary>A 410 moments after <c>/connect</c> (API Gateway still finishing the handshake) is retried, not dropped.</summary>
public sealed class ConnectWindowTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan TimerTick = TimeSpan.FromMilliseconds(16);

    private static async Task<DeliveryDispatcher> StartAsync(IManagementApiClient client, IGoneConnections gone)
    {
        var dispatcher = new DeliveryDispatcher(client, gone, Options.Create(new DeliveryOptions { MaxConcurrency = 4 }),
            NullLogger<DeliveryDispatcher>.Instance, connectionOptions: Options.Create(new ConnectionOptions { ConnectGracePeriod = Window }));
        await dispatcher.StartAsync(CancellationToken.None);
        return dispatcher;
    }

    [Fact]
    public async Task A_post_that_meets_410_while_its_connection_is_kept_is_made_again_after_the_window_and_later_posts_follow_it()
    {
        var handshakeDone = 0;
        var delivered = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var client = new ScriptedOutcomes((_, body) =>
        {
            if (Volatile.Read(ref handshakeDone) == 0) return Task.FromResult(ScriptedOutcomes.Gone);
            delivered.Enqueue(body);
            return Task.FromResult(ScriptedOutcomes.Delivered);
        });
        // The grain keeps the connection (accepted moments ago); meanwhile API Gateway finishes its handshake.
        var gone = new ScriptedGone((_, _) =>
        {
            Volatile.Write(ref handshakeDone, 1);
            return Task.FromResult(false);
        });
        await using var dispatcher = await StartAsync(client, gone);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        dispatcher.Dispatch(ScriptedOutcomes.Message("first"), "room:r", "r", ["c"], track: true);
        dispatcher.Dispatch(ScriptedOutcomes.Message("second"), "room:r", "r", ["c"], track: true);
        await dispatcher.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["first", "second"], delivered);
        // Timers count whole ticks of the system clock (1 ms here, 15.6 ms on Windows): a delay can end up to one tick
        // before a Stopwatch says it should (seen: 299 ms for 300). A post made at once would show about 0 ms.
        Assert.True(clock.Elapsed >= Window - TimerTick, $"made again after {clock.ElapsedMilliseconds} ms, before the window passed");
        Assert.Single(gone.Reports);
        Assert.Equal(1, (await dispatcher.WaitAsync("first", TimeSpan.FromSeconds(5))).Delivered);
    }

    [Fact]
    public void The_window_is_a_few_seconds_by_default_not_30() =>
        Assert.InRange(new ConnectionOptions().ConnectGracePeriod, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

    [Fact]
    public async Task A_post_that_meets_410_for_a_connection_its_grain_removed_ends_gone_and_later_posts_skip_it()
    {
        var client = new ScriptedOutcomes((_, _) => Task.FromResult(ScriptedOutcomes.Gone));
        var gone = new ScriptedGone((_, _) => Task.FromResult(true));
        await using var dispatcher = await StartAsync(client, gone);

        dispatcher.Dispatch(ScriptedOutcomes.Message("first"), "room:r", "r", ["c"], track: true);
        dispatcher.Dispatch(ScriptedOutcomes.Message("second"), "room:r", "r", ["c"], track: true);
        await dispatcher.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["first"], client.Bodies("c"));
        Assert.Equal(1, (await dispatcher.WaitAsync("second", TimeSpan.FromSeconds(5))).Gone);
    }
}

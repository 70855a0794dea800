using Tether.Delivery;

namespace Tether.Tests.Delivery;

/// <summary>Posts refused by the Management API's open or half-open circuit breaker wait for it, within bounds.</summary>
public sealed class ManagementApiOutageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>A breaker: open refuses every call; half-open lets one trial through and refuses the calls meanwhile.</summary>
    private sealed class Breaker
    {
        private int _trial;

        public volatile bool Open = true;
        public volatile bool HalfOpen;
        public int Refusals;

        /// <summary>What each connection was delivered, in order.</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Concurrent.ConcurrentQueue<string>> Delivered { get; } = new();

        public IReadOnlyList<string> DeliveredTo(string connectionId) => Delivered.TryGetValue(connectionId, out var d) ? [.. d] : [];

        public async Task<ManagementResult> AnswerAsync(string connectionId, string body)
        {
            var result = await DecideAsync();
            if (result.Outcome == ManagementOutcome.Delivered) Delivered.GetOrAdd(connectionId, _ => new()).Enqueue(body);
            return result;
        }

        private async Task<ManagementResult> DecideAsync()
        {
            if (HalfOpen)
            {
                if (Interlocked.Exchange(ref _trial, 1) == 1)
                {
                    Interlocked.Increment(ref Refusals);
                    return ScriptedOutcomes.CircuitOpen;
                }
                await Task.Delay(100);
                HalfOpen = false;
                Open = false;
                return ScriptedOutcomes.Delivered;
            }
            if (!Open) return ScriptedOutcomes.Delivered;
            Interlocked.Increment(ref Refusals);
            return ScriptedOutcomes.CircuitOpen;
        }
    }

    [Fact]
    public async Task Posts_refused_while_the_breaker_is_open_go_out_once_in_order_after_it_closes()
    {
        var breaker = new Breaker();
        var client = new ScriptedOutcomes(breaker.AnswerAsync);
        await using var dispatcher = await ScriptedOutcomes.StartAsync(client, new ScriptedGone((_, _) => Task.FromResult(true)),
            new DeliveryOptions { MaxConcurrency = 8, MaxOutageDelay = TimeSpan.FromMinutes(1) });

        string[] members = ["a", "b", "c"];
        for (var i = 0; i < 5; i++) dispatcher.Dispatch(ScriptedOutcomes.Message($"m{i}"), "room:r", "r", members, track: true);
        await ScriptedOutcomes.WaitUntilAsync(() => dispatcher.ManagementApiFailingSince is not null, "the dispatcher sees the outage");
        await ScriptedOutcomes.WaitUntilAsync(() => dispatcher.WaitingForManagementApi == 3, "the post to each of the 3 recipients waits");
        var refusedBefore = Volatile.Read(ref breaker.Refusals);
        await Task.Delay(1000);
        // While the breaker stays open only one waiting post at a time asks it again (every 250 ms), not every worker.
        Assert.InRange(Volatile.Read(ref breaker.Refusals) - refusedBefore, 1, 5);

        // Half-open: one trial goes through; the posts that would have raced it wait for its outcome instead.
        breaker.HalfOpen = true;
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);

        Assert.Null(dispatcher.ManagementApiFailingSince);
        foreach (var member in members)
        {
            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"m{i}"), breaker.DeliveredTo(member));
        }
        var summary = await dispatcher.WaitAsync("m4", Timeout);
        Assert.Equal(3, summary.Delivered);
    }

    [Fact]
    public async Task Posts_that_wait_longer_than_the_max_outage_delay_are_dropped_and_later_posts_go_out()
    {
        var breaker = new Breaker();
        var client = new ScriptedOutcomes(breaker.AnswerAsync);
        await using var dispatcher = await ScriptedOutcomes.StartAsync(client, new ScriptedGone((_, _) => Task.FromResult(true)),
            new DeliveryOptions { MaxConcurrency = 8, MaxOutageDelay = TimeSpan.FromMilliseconds(400) });

        dispatcher.Dispatch(ScriptedOutcomes.Message("old"), "room:r", "r", ["a", "b"], track: true);
        var old = await dispatcher.WaitAsync("old", Timeout);
        Assert.Equal((0, 2), (old.Delivered, old.Failed));

        breaker.Open = false;
        dispatcher.Dispatch(ScriptedOutcomes.Message("new"), "room:r", "r", ["a", "b"], track: true);
        var fresh = await dispatcher.WaitAsync("new", Timeout);
        Assert.Equal(2, fresh.Delivered);
        Assert.Equal(["new"], breaker.DeliveredTo("a"));
        Assert.Null(dispatcher.ManagementApiFailingSince);
    }

    [Fact]
    public async Task A_post_that_fails_two_rounds_before_the_breaker_opens_waits_for_the_API_and_goes_out_once()
    {
        // The API fails every post with 500 (after the client's own retries) while the breaker stays closed: too few
        // calls for its sampling, as when a small room's first message meets the failure on a slow machine.
        var failing = 1;
        var calls = 0;
        var client = new ScriptedOutcomes((_, _) =>
        {
            Interlocked.Increment(ref calls);
            return Task.FromResult(Volatile.Read(ref failing) == 1
                ? new ManagementResult(ManagementOutcome.Failed, 500, "InternalServerError", null, 3)
                : ScriptedOutcomes.Delivered);
        });
        await using var dispatcher = await ScriptedOutcomes.StartAsync(client, new ScriptedGone((_, _) => Task.FromResult(true)),
            new DeliveryOptions { MaxConcurrency = 4, MaxOutageDelay = TimeSpan.FromMinutes(1) });

        dispatcher.Dispatch(ScriptedOutcomes.Message("m0"), "room:r", "r", ["a"], track: true);
        await ScriptedOutcomes.WaitUntilAsync(() => dispatcher.ManagementApiFailingSince is not null, "the dispatcher sees the API failing");
        var before = Volatile.Read(ref calls);
        await Task.Delay(1000);
        // Waiting, it asks again once per probe interval (250 ms), not in a loop.
        Assert.InRange(Volatile.Read(ref calls) - before, 1, 6);

        Volatile.Write(ref failing, 0);
        var summary = await dispatcher.WaitAsync("m0", Timeout);
        Assert.Equal((1, 0), (summary.Delivered, summary.Failed));
        Assert.Null(dispatcher.ManagementApiFailingSince);
    }

    [Fact]
    public async Task While_the_breaker_is_open_at_most_MaxQueued_posts_wait_and_the_rest_are_dropped_at_once()
    {
        var breaker = new Breaker();
        var client = new ScriptedOutcomes(breaker.AnswerAsync);
        await using var dispatcher = await ScriptedOutcomes.StartAsync(client, new ScriptedGone((_, _) => Task.FromResult(true)),
            new DeliveryOptions { MaxConcurrency = 1, MaxQueued = 4, MaxOutageDelay = TimeSpan.FromMinutes(1) });

        dispatcher.Dispatch(ScriptedOutcomes.Message("first"), "room:r", "r", ["a", "b", "c"], track: false);
        await ScriptedOutcomes.WaitUntilAsync(() => dispatcher.WaitingForManagementApi == 1, "the first post waits for the breaker");
        Assert.Equal(2, dispatcher.Queued);

        // Room for 2 more under the mark of 4: those wait, the other 3 are dropped now, not queued.
        dispatcher.Dispatch(ScriptedOutcomes.Message("second"), "room:q", "q", ["d", "e", "f", "g", "h"], track: true);
        Assert.Equal(4, dispatcher.Queued);

        breaker.Open = false;
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);
        var second = await dispatcher.WaitAsync("second", Timeout);
        Assert.Equal((2, 3), (second.Delivered, second.Failed));
        Assert.Equal(["first"], breaker.DeliveredTo("c"));
        Assert.Empty(breaker.DeliveredTo("h"));
    }
}

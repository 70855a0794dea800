using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tether.Contracts;
using Tether.Delivery;
using Tether.Tests.Delivery;

namespace Tether.Tests.Grains;

/// <summary>The dispatcher's scheduling: bounded, work-conserving, in order per recipient, fair between streams.</summary>
public sealed class DeliveryDispatcherTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static OutboundMessage Message(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        return new OutboundMessage(text, payload, Envelopes.Sha256Hex(payload));
    }

    private static async Task<DeliveryDispatcher> StartAsync(IManagementApiClient client, int maxConcurrency, int maxQueued = 4096, TimeSpan? admissionTimeout = null)
    {
        var options = new DeliveryOptions { MaxConcurrency = maxConcurrency, MaxQueued = maxQueued, AdmissionTimeout = admissionTimeout ?? TimeSpan.FromSeconds(30) };
        // No post answers 410 in these tests, so the dispatcher never reports a gone connection.
        var dispatcher = new DeliveryDispatcher(client, goneConnections: null!, Options.Create(options), NullLogger<DeliveryDispatcher>.Instance);
        await dispatcher.StartAsync(CancellationToken.None);
        return dispatcher;
    }

    [Fact]
    public async Task Uses_every_worker_and_never_more_while_one_recipient_is_slow()
    {
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = 0;
        var maxInFlight = 0;
        var delivered = new ConcurrentBag<string>();
        var client = new ScriptedClient(async (id, _) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref maxInFlight, now);
            await (id == "slow" ? slow.Task : Task.Delay(1));
            Interlocked.Decrement(ref inFlight);
            delivered.Add(id);
        });
        await using var dispatcher = await StartAsync(client, maxConcurrency: 8);

        // Whatever a recipient's id, a stuck post to it must not hold up posts to anybody else.
        var others = Enumerable.Range(0, 400).Select(i => $"c{i}").ToList();
        dispatcher.Dispatch(Message("m"), "room:big", "big", ["slow", .. others], track: false);
        await WaitUntilAsync(() => delivered.Count == others.Count, "every other recipient is delivered while one post is stuck");
        Assert.DoesNotContain("slow", delivered);

        slow.SetResult();
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);
        Assert.Equal(8, maxInFlight);
        Assert.Equal(others.Count + 1, delivered.Count);
    }

    [Fact]
    public async Task Posts_from_one_stream_reach_each_recipient_in_order_with_many_workers()
    {
        var received = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        var client = new ScriptedClient(async (id, text) =>
        {
            // Uneven post times, so that a free worker would overtake a busy one if nothing stopped it.
            await Task.Delay(Random.Shared.Next(0, 3));
            received.GetOrAdd(id, _ => new ConcurrentQueue<string>()).Enqueue(text);
        });
        await using var dispatcher = await StartAsync(client, maxConcurrency: 32);

        string[] members = ["a", "b", "c"];
        for (var i = 0; i < 150; i++)
        {
            dispatcher.Dispatch(Message($"room-{i:D3}"), "room:r", "r", members, track: false);
            dispatcher.Dispatch(Message($"direct-{i:D3}"), "direct", room: null, ["a"], track: false);
        }
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);

        foreach (var member in members)
        {
            var got = received[member].ToList();
            var fromRoom = got.Where(t => t.StartsWith("room-", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(0, 150).Select(i => $"room-{i:D3}"), fromRoom);
        }
        var direct = received["a"].Where(t => t.StartsWith("direct-", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(0, 150).Select(i => $"direct-{i:D3}"), direct);
    }

    [Fact]
    public async Task A_small_rooms_message_is_posted_before_a_big_rooms_backlog_drains()
    {
        var gate = new SemaphoreSlim(0);
        var started = new ConcurrentQueue<string>();
        var client = new ScriptedClient(async (id, _) =>
        {
            started.Enqueue(id);
            await gate.WaitAsync();
        });
        await using var dispatcher = await StartAsync(client, maxConcurrency: 4);

        dispatcher.Dispatch(Message("big"), "room:big", "big", Enumerable.Range(0, 1000).Select(i => $"big{i}"), track: false);
        await WaitUntilAsync(() => started.Count == 4, "the workers take the big room's first posts");
        dispatcher.Dispatch(Message("small"), "room:small", "small", ["small0", "small1"], track: false);

        // Let posts finish one at a time until both small-room posts have started.
        var released = 0;
        while (!(started.Contains("small0") && started.Contains("small1")))
        {
            Assert.True(released < 20, "the small room's posts waited behind the big room: " + string.Join(",", started));
            var before = started.Count;
            gate.Release();
            released++;
            await WaitUntilAsync(() => started.Count > before, "a worker takes the next post");
        }
        Assert.True(released <= 4, $"the small room needed {released} posts to finish before its own started");

        gate.Release(2000);
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);
        Assert.Equal(1002, started.Count);
        Assert.Equal(0, dispatcher.Pending);
    }

    [Fact]
    public async Task A_stream_with_posts_waiting_is_held_while_the_queue_is_over_its_mark_and_a_quiet_stream_is_not()
    {
        var gate = new SemaphoreSlim(0);
        var client = new ScriptedClient(async (_, _) => await gate.WaitAsync());
        await using var dispatcher = await StartAsync(client, maxConcurrency: 2, maxQueued: 10);

        // 2 in flight, 48 queued: over the mark.
        dispatcher.Dispatch(Message("busy"), "room:busy", "busy", Enumerable.Range(0, 50).Select(i => $"b{i}"), track: false);
        var busy = dispatcher.AdmitAsync("room:busy").AsTask();
        Assert.True(dispatcher.AdmitAsync("room:quiet").AsTask().IsCompletedSuccessfully, "a stream with nothing queued must never wait");
        Assert.True(dispatcher.AdmitAsync(Outbox.DirectStream).AsTask().IsCompletedSuccessfully);
        Assert.False(busy.IsCompleted);

        // Let posts finish until fewer than 10 are queued: the busy stream is let in, without waiting for the rest.
        var released = 0;
        while (!busy.IsCompleted)
        {
            Assert.True(released < 50, "the busy stream was never admitted");
            gate.Release();
            released++;
            await Task.WhenAny(busy, Task.Delay(20));
        }
        Assert.InRange(released, 38, 42);
        Assert.True(dispatcher.Pending > 0);

        gate.Release(100);
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);
    }

    /// <summary>
    /// A held stream is refused (not let in) once the admission timeout passes with the queue still over its mark, and
    /// the queue is left as it was: queueing it anyway made memory grow with the length of a 429 storm
    /// (docs/decisions/admission-refusal.md). Once the queue drains the same stream is admitted again.
    /// </summary>
    [Fact]
    public async Task A_held_stream_is_refused_after_the_admission_timeout_when_nothing_drains()
    {
        var stuck = new TaskCompletionSource();
        var client = new ScriptedClient((_, _) => stuck.Task);
        await using var dispatcher = await StartAsync(client, maxConcurrency: 1, maxQueued: 1, admissionTimeout: TimeSpan.FromMilliseconds(300));

        dispatcher.Dispatch(Message("m"), "room:r", "r", ["a", "b", "c"], track: false);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var admitted = await dispatcher.AdmitAsync("room:r").AsTask().WaitAsync(Timeout);

        Assert.False(admitted, "a stream held past the admission timeout must be refused");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"refused after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(1, dispatcher.AdmissionsRefused);
        Assert.Equal(3, dispatcher.Pending);
        Assert.True(await dispatcher.AdmitAsync("room:quiet"), "a stream with nothing queued is never held");

        stuck.SetResult();
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);
        Assert.True(await dispatcher.AdmitAsync("room:r").AsTask().WaitAsync(Timeout));
    }

    /// <summary>
    /// While the Management API's circuit breaker refuses posts, a held stream is let in after the admission timeout
    /// rather than refused: Dispatch then keeps at most MaxQueued posts waiting and drops (and counts) the rest, and the
    /// sender hears "sent" with its message in history for resume, as docs/decisions/management-api-outage.md promises.
    /// </summary>
    [Fact]
    public async Task During_a_management_api_outage_a_held_stream_is_let_in_after_the_admission_timeout()
    {
        var client = new ScriptedOutcomes((_, _) => Task.FromResult(ScriptedOutcomes.CircuitOpen));
        await using var dispatcher = await ScriptedOutcomes.StartAsync(client, new ScriptedGone((_, _) => Task.FromResult(true)),
            new DeliveryOptions
            {
                MaxConcurrency = 1, MaxQueued = 1, AdmissionTimeout = TimeSpan.FromMilliseconds(300),
                MaxOutageDelay = TimeSpan.FromMinutes(1), DrainTimeout = TimeSpan.Zero,
            });

        dispatcher.Dispatch(Message("m"), "room:r", "r", ["a", "b", "c"], track: false);
        await WaitUntilAsync(() => dispatcher.ManagementApiFailingSince is not null, "the dispatcher sees the outage");

        Assert.True(await dispatcher.AdmitAsync("room:r").AsTask().WaitAsync(Timeout), "a held stream must be let in during an outage");
        Assert.Equal(0, dispatcher.AdmissionsRefused);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>Polls a condition the fake client changes from the dispatcher's workers.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(5);
        }
    }

    private sealed class ScriptedClient(Func<string, string, Task> onPost) : IManagementApiClient
    {
        public Uri Endpoint { get; } = new("http://127.0.0.1:9/test");

        public async Task<ManagementResult> PostAsync(string connectionId, ReadOnlyMemory<byte> payload, string payloadSha256, CancellationToken cancellationToken = default)
        {
            await onPost(connectionId, Encoding.UTF8.GetString(payload.Span));
            return new ManagementResult(ManagementOutcome.Delivered, 200, null, null, 1);
        }

        public Task<(ManagementResult Result, RemoteConnectionInfo? Info)> GetAsync(string connectionId, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task<ManagementResult> DeleteAsync(string connectionId, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}

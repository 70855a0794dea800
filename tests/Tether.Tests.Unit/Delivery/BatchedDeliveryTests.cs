using System.Text;
using System.Text.Json;

namespace Tether.Tests.Delivery;

/// <summary>Coalesced delivery: what waits for a recipient that asked for batches goes in one post, in order, within the byte limit.</summary>
public sealed class BatchedDeliveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_batch_carries_the_envelopes_exactly_as_they_are_in_order()
    {
        var (payload, sha) = BatchEnvelope.Build([Message("""{"n":1}"""), Message("""{"n":"é"}""")]);

        Assert.Equal("""{"type":"batch","messages":[{"n":1},{"n":"é"}]}""", Encoding.UTF8.GetString(payload));
        Assert.Equal(Envelopes.Sha256Hex(payload), sha);
    }

    [Fact]
    public async Task Messages_waiting_for_a_batch_recipient_go_in_one_post_and_others_get_one_per_post()
    {
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstPosted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new FakeManagementApi(async (id, body) =>
        {
            if (id == "batch" && body == """{"n":0}""")
            {
                firstPosted.SetResult();
                await first.Task;
            }
            return 200;
        });
        var batches = new KnownBatchRecipients("batch");
        await using var dispatcher = await PostBudgetTests.StartAsync(client, new DeliveryOptions { MaxConcurrency = 4 }, batches);
        await batches.LearntBy(dispatcher, "batch");

        dispatcher.Dispatch(Message("""{"n":0}"""), "room:r", "r", ["batch", "plain"], track: false);
        await firstPosted.Task.WaitAsync(Timeout);
        for (var i = 1; i < 5; i++) dispatcher.Dispatch(Message($$"""{"n":{{i}}}"""), "room:r", "r", ["batch", "plain"], track: false);
        first.SetResult();
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);

        // The first post was in flight while the other four waited: they go together.
        Assert.Equal(["""{"n":0}""", """{"type":"batch","messages":[{"n":1},{"n":2},{"n":3},{"n":4}]}"""], client.Bodies("batch").Where(b => !b.Contains("warm", StringComparison.Ordinal)));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $$"""{"n":{{i}}}"""), client.Bodies("plain"));
    }

    [Fact]
    public async Task A_batch_stays_within_max_batch_bytes_and_keeps_the_order()
    {
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new FakeManagementApi(async (_, body) =>
        {
            if (body.Contains("\"n\":0,", StringComparison.Ordinal)) await first.Task;
            return 200;
        });
        var batches = new KnownBatchRecipients("b");
        const int maxBatchBytes = 1024;
        await using var dispatcher = await PostBudgetTests.StartAsync(client, new DeliveryOptions { MaxBatchBytes = maxBatchBytes }, batches);
        await batches.LearntBy(dispatcher, "b");

        var filler = new string('x', 200);
        for (var i = 0; i < 30; i++) dispatcher.Dispatch(Message($$"""{"n":{{i}},"f":"{{filler}}"}"""), "room:r", "r", ["b"], track: false);
        first.SetResult();
        await dispatcher.WhenIdleAsync().WaitAsync(Timeout);

        var posts = client.Bodies("b").Where(b => !b.Contains("warm", StringComparison.Ordinal)).ToList();
        Assert.All(posts, p => Assert.True(Encoding.UTF8.GetByteCount(p) <= maxBatchBytes, $"a post of {p.Length} bytes"));
        Assert.True(posts.Count < 30, "nothing was batched");
        Assert.Equal(Enumerable.Range(0, 30), posts.SelectMany(Unpack).Select(e => e.GetProperty("n").GetInt32()));
    }

    private static IEnumerable<JsonElement> Unpack(string post)
    {
        var root = JsonDocument.Parse(post).RootElement;
        return root.TryGetProperty("type", out var type) && type.GetString() == "batch" ? root.GetProperty("messages").EnumerateArray() : [root];
    }

    private static OutboundMessage Message(string json)
    {
        var payload = Encoding.UTF8.GetBytes(json);
        return new OutboundMessage(json, payload, Envelopes.Sha256Hex(payload));
    }

    /// <summary>Connections in <c>batchIds</c> take batches; the dispatcher learns it from its first post to them.</summary>
    private sealed class KnownBatchRecipients(params string[] batchIds) : IBatchRecipients
    {
        private readonly TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<IReadOnlyCollection<string>> InBucketAsync(int bucket)
        {
            IReadOnlyCollection<string> inBucket = [.. batchIds.Where(id => BatchRegistry.BucketOf(id) == bucket)];
            if (inBucket.Count > 0) _asked.TrySetResult();
            return Task.FromResult(inBucket);
        }

        /// <summary>Posts once to <paramref name="id"/> so the dispatcher reads its bucket, and waits until it has.</summary>
        public async Task LearntBy(DeliveryDispatcher dispatcher, string id)
        {
            var since = TimeProvider.System.GetTimestamp();
            await dispatcher.Dispatch(Message("""{"warm":1}"""), "direct", room: null, [id], track: false).Ended.WaitAsync(Timeout);
            await _asked.Task.WaitAsync(Timeout);
            var deadline = DateTime.UtcNow + Timeout;
            // The bucket is stored just after the read returns, on the dispatcher's side.
            while (!dispatcher.HasReadBatchRegistrySince(id, since))
            {
                Assert.True(DateTime.UtcNow < deadline, "the dispatcher never learnt whether " + id + " takes batches");
                await Task.Delay(5);
            }
        }
    }
}

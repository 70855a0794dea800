using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;
using Tether.Delivery;

namespace Tether.Tests.Grains;

/// <summary>
/// A connection that asked for batches at <c>$connect</c> gets what waits for it in one post, in order, each message
/// once; a connection in the same room that did not ask gets one envelope per post, as before.
/// </summary>
[Collection(ClusterTests.Name)]
public sealed class BatchDeliveryTests(ClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const int Messages = 40;

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    [Fact]
    public async Task A_batch_connection_gets_every_message_once_in_order_in_fewer_posts_and_a_plain_one_one_per_post()
    {
        var room = "batch-" + Guid.NewGuid().ToString("N")[..8];
        var (batch, plain) = (NewId(), NewId());
        fixture.Connections.Add(batch);
        fixture.Connections.Add(plain);
        await fixture.Grains.Connector().Connect(batch, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null, Batch: true));
        await fixture.Grains.Connector().Connect(plain, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
        await WarmUpAsync(room, batch);

        // Posts take a while, so that messages pile up behind the one in flight.
        fixture.Gateway.Emulator.Faults.Latency = TimeSpan.FromMilliseconds(20);
        try
        {
            for (var i = 0; i < Messages; i++)
            {
                var reply = await fixture.Grains.GetGrain<IConnectionGrain>(plain).Handle(new SendToRoom(room, i.ToString(System.Globalization.CultureInfo.InvariantCulture), Echo: true));
                Assert.IsType<Sent>(reply);
            }
            await fixture.Connections.WaitUntilAsync(() => Bodies(batch).Count >= Messages && fixture.Connections.ReceivedCount(plain) >= Messages, Patience);
            await fixture.DrainAsync();
        }
        finally
        {
            fixture.Gateway.Emulator.Faults.Latency = TimeSpan.Zero;
        }

        var expected = Enumerable.Range(0, Messages).ToList();
        Assert.Equal(expected, Bodies(batch));
        var posts = fixture.Connections.Received(batch).Count(p => !p.Contains("\"body\":-1", StringComparison.Ordinal) && !p.Contains("presence", StringComparison.Ordinal));
        Assert.True(posts < Messages, $"{posts} posts carried {Messages} messages: none was batched");
        Assert.All(fixture.Connections.Received(plain), post => Assert.Equal("message", Type(post)));
        Assert.Equal(expected, fixture.Connections.Received(plain).Select(p => JsonDocument.Parse(p).RootElement.GetProperty("body").GetInt32()).Where(body => body >= 0));
    }

    /// <summary>
    /// Posts to the room (body -1) until a dispatcher has read the batch connection's bucket of the registry since it
    /// connected: before that, it gets one envelope per post, as any connection does.
    /// </summary>
    private async Task WarmUpAsync(string room, string batch)
    {
        var since = TimeProvider.System.GetTimestamp();
        var dispatchers = fixture.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<DeliveryDispatcher>()).ToList();
        var deadline = DateTime.UtcNow + Patience;
        do
        {
            Assert.True(DateTime.UtcNow < deadline, "no dispatcher read the batch registry");
            await fixture.Grains.GetGrain<IConnectionGrain>(batch).Handle(new SendToRoom(room, "-1", Echo: true));
            await fixture.DrainAsync();
        }
        while (!dispatchers.Exists(d => d.HasReadBatchRegistrySince(batch, since)));
    }

    /// <summary>The bodies of the room messages a connection received, batches unpacked, in the order they came.</summary>
    private List<int> Bodies(string connectionId) =>
    [
        .. fixture.Connections.Received(connectionId)
            .SelectMany(post => Type(post) == "batch"
                ? JsonDocument.Parse(post).RootElement.GetProperty("messages").EnumerateArray().Select(m => m.Clone()).ToList()
                : [JsonDocument.Parse(post).RootElement.Clone()])
            .Where(m => m.GetProperty("type").GetString() == "message")
            .Select(m => m.GetProperty("body").GetInt32())
            .Where(body => body >= 0),
    ];

    private static string? Type(string post) => JsonDocument.Parse(post).RootElement.GetProperty("type").GetString();
}

using System.Text.Json;
using Tether.Contracts;

namespace Tether.Tests.Grains;

/// <summary>
/// The HTTP API's <c>?wait=true</c> waits for a tracked message's posts through <see cref="IRoomGrain.AwaitDelivery"/>.
/// However slow the Management API is, that wait must not hold the room: joins to it go on meanwhile.
/// </summary>
[Collection(HandOverClusterTests.Name)]
public sealed class AwaitDeliveryTests(HandOverClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    // A join takes milliseconds; well under Orleans' response timeout, so that a blocked join fails this test's assertion.
    private static readonly TimeSpan JoinBound = TimeSpan.FromSeconds(10);

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private IRoomGrain Room(string name) => fixture.Grains.GetGrain<IRoomGrain>(name);

    private async Task<string> JoinAsync(string room)
    {
        var id = NewId();
        fixture.Connections.Add(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
        return id;
    }

    // The fixture's rooms shard past 4 members: 2 keep the room small, 6 make it sharded.
    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    public async Task A_join_completes_while_a_tracked_message_to_the_room_is_still_being_posted(int members)
    {
        var room = "await-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < members; i++) await JoinAsync(room);
        await fixture.DrainAsync();
        var slow = "slow-" + Guid.NewGuid().ToString("N");
        fixture.Gated.Close(slow);
        try
        {
            var message = Envelopes.Message(Envelopes.NewMessageId(), room, null, null, JsonSerializer.Serialize(slow), DateTimeOffset.UtcNow);
            var receipt = await Room(room).Publish(message, null, trackDelivery: true);
            Assert.Equal(members, receipt.Recipients);
            await fixture.Gated.WaitUntilAsync(() => fixture.Gated.Waiting == members, Patience);
            var delivery = Room(room).AwaitDelivery(message.Id, Patience);

            // Every post of the message is held until the gate opens, so the wait cannot end before the join does.
            var joiner = NewId();
            fixture.Connections.Add(joiner);
            var join = Room(room).Join(joiner, null);
            var first = await Task.WhenAny(join, Task.Delay(JoinBound));

            Assert.True(first == join, "the join waited for the tracked message's posts, which are held until the test lets them go");
            Assert.Equal(members + 1, await join);
            Assert.False(delivery.IsCompleted, "the join waited for the tracked message's posts to end");
            fixture.Gated.Open();
            var summary = await delivery;
            Assert.Equal((members, members, true), (summary.Recipients, summary.Delivered, summary.Complete));
        }
        finally
        {
            fixture.Gated.Open();
        }
    }

    [Fact]
    public async Task A_wait_for_a_message_published_before_the_room_sharded_counts_its_posts_and_waits_for_them()
    {
        var room = "resharded-" + Guid.NewGuid().ToString("N")[..8];
        // Three members keep the room small (the fixture shards past 4).
        for (var i = 0; i < 3; i++) await JoinAsync(room);
        await fixture.DrainAsync();
        var slow = "slow-" + Guid.NewGuid().ToString("N");
        fixture.Gated.Close(slow);
        try
        {
            var message = Envelopes.Message(Envelopes.NewMessageId(), room, null, null, JsonSerializer.Serialize(slow), DateTimeOffset.UtcNow);
            Assert.Equal(3, (await Room(room).Publish(message, null, trackDelivery: true)).Recipients);
            await fixture.Gated.WaitUntilAsync(() => fixture.Gated.Waiting == 3, Patience);

            // Two more members shard the room between the publish and the wait, as ?wait=true's request may meet.
            for (var i = 0; i < 2; i++) await JoinAsync(room);
            Assert.Equal(5, await Room(room).Count());
            var delivery = Room(room).AwaitDelivery(message.Id, Patience);

            // The posts are held at the gate: any answer now (without the fix: complete, 0 delivered) is wrong.
            await Task.WhenAny(delivery, Task.Delay(TimeSpan.FromSeconds(1)));
            Assert.False(delivery.IsCompleted, $"the wait answered while every post was still held: {(delivery.IsCompleted ? await delivery : null)}");
            fixture.Gated.Open();
            var summary = await delivery;
            Assert.Equal((3, 3, true), (summary.Recipients, summary.Delivered, summary.Complete));
        }
        finally
        {
            fixture.Gated.Open();
        }
    }
}

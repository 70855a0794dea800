using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;
using Tether.Delivery;
using Tether.LocalGateway;
using Tether.Grains;

namespace Tether.Tests.Grains;

/// <summary>
/// A dispatcher keeps one recipient's posts in order only on its own silo. When members move to a shard on another
/// silo, a sender's next message must still not reach them before its previous one, which their old room or shard
/// queued on its silo; and neither the move nor the next publish may wait for those old posts.
/// </summary>
[Collection(HandOverClusterTests.Name)]
public sealed class ShardHandOverTests(HandOverClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private IManagementGrain Management => fixture.Grains.GetGrain<IManagementGrain>(0);

    private IConnectionGrain Connection(string id) => fixture.Grains.GetGrain<IConnectionGrain>(id);

    private IRoomGrain Room(string name) => fixture.Grains.GetGrain<IRoomGrain>(name);

    /// <summary>A new connection id whose shard at depth 1 is <paramref name="half"/> (0 or 1).</summary>
    private static string NewId(int half)
    {
        while (true)
        {
            var id = Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";
            if (RoomShards.IndexAt(RoomShards.Hash(id), 1) == half) return id;
        }
    }

    private async Task JoinAsync(string room, string id)
    {
        fixture.Connections.Add(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
    }

    private async Task<SiloAddress> SiloOfAsync(IAddressable grain) =>
        await Management.GetActivationAddress(grain) ?? throw new InvalidOperationException("the grain is not active");

    private async Task<SiloAddress> ShardSiloAsync(string room, int index)
    {
        var silos = (await Management.GetHosts(onlyActive: true)).Keys.Order().ToArray();
        Assert.Equal(2, silos.Length);
        return silos[RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, index), silos.Length)];
    }

    private DeliveryDispatcher DispatcherOn(SiloAddress silo) =>
        fixture.Cluster.Silos.Single(s => s.SiloAddress == silo).ServiceProvider.GetRequiredService<DeliveryDispatcher>();

    private string[] Bodies(string id, params string[] among) =>
        [.. fixture.Connections.Received(id)
            .Select(m => JsonDocument.Parse(m).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "message")
            .Select(e => e.GetProperty("body").GetString()!)
            .Where(among.Contains)];

    /// <summary>A room of four members whose shard 0 (where they move on the fifth join) lives on the other silo than the room.</summary>
    private async Task<(string Room, List<string> Members, SiloAddress ShardSilo)> RoomAboutToShardAsync()
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var room = "handover-" + Guid.NewGuid().ToString("N")[..8];
            var members = new List<string> { NewId(0) };
            await JoinAsync(room, members[0]);
            var roomSilo = await SiloOfAsync(Room(room));
            var shardSilo = await ShardSiloAsync(room, 0);
            if (roomSilo == shardSilo) continue;
            for (var i = 1; i < 4; i++)
            {
                members.Add(NewId(i % 2));
                await JoinAsync(room, members[i]);
            }
            Assert.Equal(4, await Room(room).Count());
            await fixture.DrainAsync();
            return (room, members, shardSilo);
        }
        throw new InvalidOperationException("no room in 20 had its shard on the other silo than itself");
    }

    [Fact]
    public async Task Members_moved_from_a_room_to_a_shard_on_another_silo_get_a_senders_messages_in_order_without_anyone_waiting()
    {
        var (room, members, shardSilo) = await RoomAboutToShardAsync();

        var big = "big-" + Guid.NewGuid().ToString("N");
        var second = "second-" + Guid.NewGuid().ToString("N");
        var sender = members[0];
        var joiner = NewId(0);
        fixture.Gated.Close(big);
        try
        {
            // The small room queues "big" on its own silo; its posts wait at the gate.
            var first = await Connection(sender).Handle(new SendToRoom(room, JsonSerializer.Serialize(big), true));
            Assert.Equal(4, Assert.IsType<Sent>(first).Recipients);
            await fixture.Gated.WaitUntilAsync(() => fixture.Gated.Waiting == 4, Patience);

            // The fifth member moves the room into shard 0 on the other silo; the join and the next message are
            // answered while "big" is still held.
            fixture.Connections.Add(joiner);
            await fixture.Grains.Connector().Connect(joiner, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
            Assert.Equal(shardSilo, await SiloOfAsync(fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, 0))));
            var next = await Connection(sender).Handle(new SendToRoom(room, JsonSerializer.Serialize(second), true));
            Assert.Equal(5, Assert.IsType<Sent>(next).Recipients);
            Assert.Equal(4, fixture.Gated.Waiting);

            // Whatever the shard's silo had to post now has been posted (without the fix: "second", overtaking "big").
            await DispatcherOn(shardSilo).WhenIdleAsync().WaitAsync(Patience);
            Assert.All(members, m => Assert.Empty(Bodies(m, second)));
        }
        finally
        {
            fixture.Gated.Open();
        }

        await fixture.Connections.WaitUntilAsync(() => members.All(m => Bodies(m, big, second).Length == 2) && Bodies(joiner, second).Length == 1, Patience);
        await fixture.DrainAsync();
        Assert.All(members, m => Assert.Equal([big, second], Bodies(m, big, second)));
        Assert.Equal([second], Bodies(joiner, big, second));
    }

    [Fact]
    public async Task Members_a_split_moves_to_a_shard_on_another_silo_get_a_senders_messages_in_order_and_tracked_delivery_still_reports()
    {
        var room = "split-" + Guid.NewGuid().ToString("N")[..8];
        // Four members in each half of shard 0: the ninth join splits it, and half 1 moves to shard 1.
        var members = Enumerable.Range(0, 8).Select(i => NewId(i % 2)).ToList();
        foreach (var id in members) await JoinAsync(room, id);
        Assert.Equal(8, await Room(room).Count());
        var oldSilo = await SiloOfAsync(fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, 0)));
        var newSilo = await ShardSiloAsync(room, 1);
        Assert.NotEqual(oldSilo, newSilo);
        await fixture.DrainAsync();

        var big = "big-" + Guid.NewGuid().ToString("N");
        var second = "second-" + Guid.NewGuid().ToString("N");
        var sender = members[1];
        var joiner = NewId(1);
        DeliverySummary tracked;
        fixture.Gated.Close(big);
        try
        {
            // With echo off the sender is left out of "big"; the split must still wait for every post queued before it.
            var first = await Connection(sender).Handle(new SendToRoom(room, JsonSerializer.Serialize(big), false));
            Assert.Equal(7, Assert.IsType<Sent>(first).Recipients);
            await fixture.Gated.WaitUntilAsync(() => fixture.Gated.Waiting == 7, Patience);

            fixture.Connections.Add(joiner);
            await fixture.Grains.Connector().Connect(joiner, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
            Assert.Equal(newSilo, await SiloOfAsync(fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, 1))));
            Assert.Equal(5, (await fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, 1)).GetMembers(null, 100)).Count);

            // A tracked message through the room, as the HTTP API's ?wait=true sends it.
            var message = Envelopes.Message(Envelopes.NewMessageId(), room, null, null, JsonSerializer.Serialize(second), DateTimeOffset.UtcNow);
            var receipt = await Room(room).Publish(message, null, trackDelivery: true);
            Assert.Equal(9, receipt.Recipients);
            Assert.Equal(7, fixture.Gated.Waiting);
            var summary = Room(room).AwaitDelivery(message.Id, Patience);

            await DispatcherOn(newSilo).WhenIdleAsync().WaitAsync(Patience);
            Assert.All(members, m => Assert.Empty(Bodies(m, second)));
            Assert.False(summary.IsCompleted);
            fixture.Gated.Open();
            tracked = await summary;
        }
        finally
        {
            fixture.Gated.Open();
        }

        Assert.Equal((9, 9, true), (tracked.Recipients, tracked.Delivered, tracked.Complete));
        await fixture.DrainAsync();
        Assert.Equal([second], Bodies(sender, big, second));
        Assert.All(members.Where(m => m != sender), m => Assert.Equal([big, second], Bodies(m, big, second)));
        Assert.Equal([second], Bodies(joiner, big, second));
    }

    [Fact]
    public async Task Past_the_held_bytes_limit_a_publish_waits_for_the_hand_over_and_order_is_kept()
    {
        var (room, members, _) = await RoomAboutToShardAsync();
        var big = "big-" + Guid.NewGuid().ToString("N");
        var second = "second-" + Guid.NewGuid().ToString("N");
        var third = "third-" + new string('x', 5000);
        var sender = members[0];
        var joiner = NewId(1);
        Task<ClientReply> last;
        fixture.Gated.Close(big);
        try
        {
            await Connection(sender).Handle(new SendToRoom(room, JsonSerializer.Serialize(big), true));
            await fixture.Gated.WaitUntilAsync(() => fixture.Gated.Waiting == 4, Patience);
            await JoinAsync(room, joiner);

            // Held: the shard answers at once.
            Assert.Equal(5, Assert.IsType<Sent>(await Connection(sender).Handle(new SendToRoom(room, JsonSerializer.Serialize(second), true))).Recipients);
            // Over Rooms:ShardHandOverMaxDeferredBytes: the publisher waits for the hand-over instead of growing the hold.
            last = Connection(sender).Handle(new SendToRoom(room, JsonSerializer.Serialize(third), true));
            // A second is time enough for a publish that wrongly does not wait to be answered; one that waits can never
            // be answered before the gate opens, so this cannot fail on a slow machine (it could only miss the bug).
            await Task.WhenAny(last, Task.Delay(TimeSpan.FromSeconds(1)));
            Assert.False(last.IsCompleted, "a publish past the held bytes limit was answered before the hand-over passed");
            Assert.All(members, m => Assert.Empty(Bodies(m, second, third)));
        }
        finally
        {
            fixture.Gated.Open();
        }

        Assert.Equal(5, Assert.IsType<Sent>(await last.WaitAsync(Patience)).Recipients);
        await fixture.Connections.WaitUntilAsync(() => members.All(m => Bodies(m, big, second, third).Length == 3), Patience);
        await fixture.DrainAsync();
        Assert.All(members, m => Assert.Equal([big, second, third], Bodies(m, big, second, third)));
        Assert.Equal([second, third], Bodies(joiner, big, second, third));
    }
}

using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Runtime.Placement;
using Orleans.TestingHost;
using Tether.Contracts;
using Tether.Delivery;
using Tether.Grains;

namespace Tether.Tests.Grains;

/// <summary>
/// A small room or a shard posts through its own silo's dispatcher. When it moves to another silo (deactivated there
/// and activated here, or its silo shuts down), a sender's next message must not reach a member before its previous
/// one, still queued on the old silo.
/// </summary>
[Collection(HandOverClusterTests.Name)]
public sealed class RoomMoveOrderTests(HandOverClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private IManagementGrain Management => fixture.Grains.GetGrain<IManagementGrain>(0);

    private IConnectionGrain Connection(string id) => fixture.Grains.GetGrain<IConnectionGrain>(id);

    private IRoomGrain Room(string name) => fixture.Grains.GetGrain<IRoomGrain>(name);

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private string[] Bodies(string id, params string[] among) =>
        [.. fixture.Connections.Received(id)
            .Select(m => JsonDocument.Parse(m).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "message")
            .Select(e => e.GetProperty("body").GetString()!)
            .Where(among.Contains)];

    private async Task<SiloAddress> SiloOfAsync(IAddressable grain) =>
        await Management.GetActivationAddress(grain) ?? throw new InvalidOperationException("the grain is not active");

    [Fact]
    public async Task A_small_room_that_moves_to_another_silo_posts_a_senders_next_message_only_after_the_previous_one()
    {
        var room = "moving-" + Guid.NewGuid().ToString("N")[..8];
        var members = new[] { NewId(), NewId() };
        foreach (var id in members)
        {
            fixture.Connections.Add(id);
            await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
        }
        await fixture.DrainAsync();
        var oldSilo = await SiloOfAsync(Room(room));
        var newSilo = fixture.Cluster.Silos.Select(s => s.SiloAddress).Single(s => s != oldSilo);

        var big = "big-" + Guid.NewGuid().ToString("N");
        var second = "second-" + Guid.NewGuid().ToString("N");
        var sender = members[0];
        Task<ClientReply> next;
        fixture.Gated.Close(big);
        try
        {
            // The room queues "big" on its silo; its posts wait at the gate.
            Assert.Equal(2, Assert.IsType<Sent>(await Connection(sender).Handle(new SendToRoom(room, JsonSerializer.Serialize(big), true))).Recipients);
            await fixture.Gated.WaitUntilAsync(() => fixture.Gated.Waiting == 2, Patience);

            // The room moves to the other silo (as a scale-in, a drained silo or the rebalancer would move it).
            RequestContext.Set(IPlacementDirector.PlacementHintKey, newSilo);
            try
            {
                await Room(room).AsReference<IGrainManagementExtension>().MigrateOnIdle();
            }
            finally
            {
                RequestContext.Clear();
            }

            next = Connection(sender).Handle(new SendToRoom(room, JsonSerializer.Serialize(second), true));
            // Answered or not within a second, whatever the new silo posted by then must not include "second" (without
            // the fix it does: the new activation posts at once, overtaking "big").
            await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(1)));
            await fixture.Cluster.Silos.Single(s => s.SiloAddress == newSilo).ServiceProvider
                .GetRequiredService<DeliveryDispatcher>().WhenIdleAsync().WaitAsync(Patience);
            Assert.All(members, m => Assert.Empty(Bodies(m, second)));
        }
        finally
        {
            fixture.Gated.Open();
        }

        Assert.Equal(2, Assert.IsType<Sent>(await next.WaitAsync(Patience)).Recipients);
        await fixture.Connections.WaitUntilAsync(() => members.All(m => Bodies(m, big, second).Length == 2), Patience);
        Assert.All(members, m => Assert.Equal([big, second], Bodies(m, big, second)));
        Assert.Equal(newSilo, await SiloOfAsync(Room(room)));
    }

    [Fact]
    public async Task A_shard_whose_silo_shuts_down_posts_the_next_message_from_its_new_silo_only_after_the_old_silo_posted_its_queue()
    {
        // The primary silo hosts the test cluster's membership table: the shard must be on the other one.
        var primary = fixture.Cluster.Silos[0];
        var leaving = fixture.Cluster.Silos.Single(s => s != primary);
        SiloAddress[] silos = [.. fixture.Cluster.Silos.Select(s => s.SiloAddress).Order()];
        string room;
        do room = "leaving-" + Guid.NewGuid().ToString("N")[..8];
        while (!silos[RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, 0), silos.Length)].Equals(leaving.SiloAddress));

        // Past the fixture's threshold of 4 the room keeps its members in one shard, placed on the leaving silo.
        var members = Enumerable.Range(0, 5).Select(_ => NewId()).ToArray();
        foreach (var id in members)
        {
            fixture.Connections.Add(id);
            await Room(room).Join(id, null);
        }
        await fixture.DrainAsync();
        var shard = fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, 0));
        Assert.True(await shard.IsMember(members[0]));
        Assert.True(fixture.Cluster.TryGetGrainContext(shard.GetGrainId(), out var context) && context!.Address.SiloAddress!.Equals(leaving.SiloAddress),
            "the shard is on the leaving silo");

        // The room itself stays: on the silo that remains.
        if ((await SiloOfAsync(Room(room))).Equals(leaving.SiloAddress))
        {
            RequestContext.Set(IPlacementDirector.PlacementHintKey, primary.SiloAddress);
            try
            {
                await Room(room).AsReference<IGrainManagementExtension>().MigrateOnIdle();
            }
            finally
            {
                RequestContext.Clear();
            }
            await Room(room).Count();
        }

        var big = "big-" + Guid.NewGuid().ToString("N");
        var second = "second-" + Guid.NewGuid().ToString("N");
        Task stopped = Task.CompletedTask;
        Task next = Task.CompletedTask;
        fixture.Gated.Close(big);
        try
        {
            await PublishAsync(room, big);
            await fixture.Gated.WaitUntilAsync(() => fixture.Gated.Waiting == members.Length, Patience);

            // A graceful shutdown (SIGTERM): the silo says it is shutting down, then its shard waits for the gated posts.
            stopped = fixture.Cluster.StopSiloAsync(leaving);
            await WhenSeenAsync(primary, leaving.SiloAddress, s => s.IsTerminating());
            next = PublishAsync(room, second);
            // Answered or not within a second, whatever the remaining silo posted by then must not include "second":
            // a new activation of the shard there may post only once the leaving silo's queue has ended.
            await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(1)));
            await primary.ServiceProvider.GetRequiredService<DeliveryDispatcher>().WhenIdleAsync().WaitAsync(Patience);
            Assert.All(members, m => Assert.Empty(Bodies(m, second)));
        }
        finally
        {
            fixture.Gated.Open();
            await next;
            await stopped;
            // The collection's other tests expect two silos, each seeing the other active.
            var replacement = await fixture.Cluster.StartAdditionalSiloAsync();
            await WhenSeenAsync(primary, replacement.SiloAddress, s => s == SiloStatus.Active);
            await WhenSeenAsync(replacement, primary.SiloAddress, s => s == SiloStatus.Active);
        }

        await fixture.Connections.WaitUntilAsync(() => members.All(m => Bodies(m, big, second).Length == 2), Patience);
        Assert.All(members, m => Assert.Equal([big, second], Bodies(m, big, second)));
    }

    private async Task PublishAsync(string room, string body)
    {
        var message = Envelopes.Message(Envelopes.NewMessageId(), room, null, null, JsonSerializer.Serialize(body), DateTimeOffset.UtcNow);
        // A call routed through the stopping silo may fail after the room accepted it: the request id makes the retry harmless.
        await Eventually.HoldsAsync(() => Room(room).Publish(message, null, trackDelivery: false, body), Patience, "the room accepts " + body);
    }

    private static async Task WhenSeenAsync(InProcessSiloHandle by, SiloAddress silo, Func<SiloStatus, bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await foreach (var snapshot in by.ServiceProvider.GetRequiredService<IClusterMembershipService>().MembershipUpdates.WithCancellation(timeout.Token))
        {
            if (condition(snapshot.GetSiloStatus(silo))) return;
        }
    }
}

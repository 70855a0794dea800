using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Runtime.Placement;
using Tether.Contracts;
using Tether.Delivery;

namespace Tether.Tests.Grains;

/// <summary>
/// A small room posts through its own silo's dispatcher. When the room moves to another silo (deactivated there and
/// activated here), a sender's next message must not reach a member before its previous one, still queued on the old
/// silo.
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
            await Connection(id).Connect(new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
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
}

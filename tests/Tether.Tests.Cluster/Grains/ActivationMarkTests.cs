using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Tests.Grains;

/// <summary>
/// A room's or shard's next activation may start on another silo while the previous one still waits for its queued
/// posts (see <see cref="RoomMoveOrderTests"/> for a real one). Here the previous activation is stood in for by its
/// stored mark: the new activation must post nothing until that mark is gone, unless its silo left the cluster.
/// </summary>
[Collection(HandOverClusterTests.Name)]
public sealed class ActivationMarkTests(HandOverClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private IRoomGrain Room(string name) => fixture.Grains.GetGrain<IRoomGrain>(name);

    // The silos share one store (the fixture's), as they share Redis in the cluster shape.
    private IMemberSets Store => fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IMemberSets>();

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private static string NewRoom() => "marked-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The mark an earlier activation on <paramref name="silo"/> would have stored.</summary>
    private static string EarlierMark(SiloAddress silo) => silo.ToParsableString() + "|earlier-" + Guid.NewGuid().ToString("N")[..8];

    private string[] Bodies(string id, string body) =>
        [.. fixture.Connections.Received(id)
            .Select(m => JsonDocument.Parse(m).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "message" && e.GetProperty("body").GetString() == body)
            .Select(e => e.GetProperty("body").GetString()!)];

    private async Task<string[]> JoinAsync(string room, int count)
    {
        var members = Enumerable.Range(0, count).Select(_ => NewId()).ToArray();
        foreach (var id in members)
        {
            fixture.Connections.Add(id);
            await Room(room).Join(id, null);
        }
        await fixture.DrainAsync();
        return members;
    }

    private Task<PublishReceipt> PublishAsync(string room, string body) =>
        Room(room).Publish(Envelopes.Message(Envelopes.NewMessageId(), room, null, null, JsonSerializer.Serialize(body), DateTimeOffset.UtcNow), null, trackDelivery: false);

    [Fact]
    public async Task A_shard_posts_nothing_while_an_earlier_activation_on_a_live_silo_is_marked()
    {
        var room = NewRoom();
        var marks = ActivationMarks.OfShard(RoomShards.Key(room, 0));
        var earlier = EarlierMark(fixture.Cluster.Silos[0].SiloAddress);
        await Store.AddAsync(marks, earlier);

        // Past the fixture's threshold of 4 the room hands its members to shard 0, whose first activation finds the mark.
        var members = await JoinAsync(room, 5);
        Assert.True(await fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, 0)).IsMember(members[0]));
        var body = "held-" + Guid.NewGuid().ToString("N");
        Assert.Equal(5, (await PublishAsync(room, body)).Recipients);
        // Accepted; had the shard posted it, the dispatchers would be idle only once it was delivered.
        await fixture.DrainAsync();
        Assert.All(members, m => Assert.Empty(Bodies(m, body)));

        await Store.RemoveAsync(marks, [earlier]);
        await fixture.Connections.WaitUntilAsync(() => members.All(m => Bodies(m, body).Length == 1), Patience);
    }

    [Fact]
    public async Task A_shard_does_not_wait_for_the_mark_of_an_activation_whose_silo_left()
    {
        var room = NewRoom();
        var marks = ActivationMarks.OfShard(RoomShards.Key(room, 0));
        // A silo that is not a member (any more): after kill -9 its queue died with it.
        var gone = SiloAddress.New(System.Net.IPAddress.Loopback, 1, 1);
        await Store.AddAsync(marks, EarlierMark(gone));

        var members = await JoinAsync(room, 5);
        var body = "posted-" + Guid.NewGuid().ToString("N");
        Assert.Equal(5, (await PublishAsync(room, body)).Recipients);
        await fixture.Connections.WaitUntilAsync(() => members.All(m => Bodies(m, body).Length == 1), Patience);
        // The gone silo's mark is dropped, so that later activations do not look at it again.
        Assert.DoesNotContain(await Store.ReadAsync(marks), m => m.StartsWith(gone.ToParsableString() + "|", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_small_room_posts_nothing_while_an_earlier_activation_on_a_live_silo_is_marked()
    {
        var room = NewRoom();
        var members = await JoinAsync(room, 2);
        await fixture.Cluster.DeactivateAsync(Room(room));
        var marks = ActivationMarks.OfRoom(room);
        var earlier = EarlierMark(fixture.Cluster.Silos[0].SiloAddress);
        await Store.AddAsync(marks, earlier);

        var body = "held-" + Guid.NewGuid().ToString("N");
        var publishing = PublishAsync(room, body);
        // The publish activates the room again; its activation stores its own mark beside the earlier one and waits.
        var entered = WhenMarkedAsync(marks, count: 2);
        await Task.WhenAny(publishing, entered);
        Assert.False(publishing.IsCompleted, "the room's new activation accepted a publish while an earlier one was marked");
        await entered.WaitAsync(Patience);
        await fixture.DrainAsync();
        Assert.All(members, m => Assert.Empty(Bodies(m, body)));

        await Store.RemoveAsync(marks, [earlier]);
        Assert.Equal(2, (await publishing.WaitAsync(Patience)).Recipients);
        await fixture.Connections.WaitUntilAsync(() => members.All(m => Bodies(m, body).Length == 1), Patience);
    }

    /// <summary>
    /// Completes once <paramref name="name"/> holds <paramref name="count"/> marks. The store raises no events: asks
    /// every 20 ms.
    /// </summary>
    private async Task WhenMarkedAsync(string name, int count)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while ((await Store.ReadAsync(name)).Count < count) await Task.Delay(TimeSpan.FromMilliseconds(20), timeout.Token);
    }
}

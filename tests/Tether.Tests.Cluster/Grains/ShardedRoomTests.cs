using Tether.Contracts;

namespace Tether.Tests.Grains;

/// <summary>The cluster fixture shards rooms past 8 members into 4 shards and splits shards past 16 members.</summary>
[Collection(ClusterTests.Name)]
public sealed class ShardedRoomTests(ClusterFixture fixture)
{
    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private async Task<(string Room, List<string> Ids)> RoomWithMembersAsync(int count)
    {
        var room = "sharded-" + Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, count).Select(_ => NewId()).ToList();
        foreach (var id in ids) fixture.Connections.Add(id);
        foreach (var id in ids)
        {
            await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
        }
        return (room, ids);
    }

    [Fact]
    public async Task A_large_room_spreads_its_members_over_shards_that_stay_under_their_capacity()
    {
        var (room, ids) = await RoomWithMembersAsync(150);

        var perShard = await Task.WhenAll(Enumerable.Range(0, 256).Select(i =>
            fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, i)).GetMembers(null, 1000)));

        var held = perShard.SelectMany(p => p).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), held.Order(StringComparer.Ordinal));
        Assert.True(perShard.Count(p => p.Count > 0) >= 8, "150 members with a capacity of 16 need at least 8 shards");
        // A shard splits on the join that takes it past the capacity; if the hash sends the whole half one way, it
        // rests at one over the capacity until its next join.
        Assert.All(perShard, p => Assert.True(p.Count <= 17, $"a shard holds {p.Count} members"));
        Assert.Equal(150, await fixture.Grains.GetGrain<IRoomGrain>(room).Count());
    }

    [Fact]
    public async Task Members_of_a_sharded_room_page_in_ordinal_order_and_leave_and_membership_checks_route_to_shards()
    {
        var (room, ids) = await RoomWithMembersAsync(40);
        var grain = fixture.Grains.GetGrain<IRoomGrain>(room);

        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await grain.GetMembers(after, 7);
            Assert.Equal(40, page.Total);
            seen.AddRange(page.Members);
            after = page.Next;
        }
        while (after is not null);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen);

        await fixture.Grains.GetGrain<IConnectionGrain>(ids[0]).Disconnect("test");
        Assert.False(await grain.IsMember(ids[0]));
        Assert.True(await grain.IsMember(ids[1]));
        Assert.Equal(39, await grain.Count());
    }

    [Fact]
    public async Task One_senders_messages_reach_every_member_of_a_sharded_room_in_order()
    {
        var (room, ids) = await RoomWithMembersAsync(60);
        var sender = fixture.Grains.GetGrain<IConnectionGrain>(ids[0]);

        for (var i = 0; i < 20; i++)
        {
            var reply = await sender.Handle(new SendToRoom(room, $"{i}", Echo: true));
            Assert.Equal(60, Assert.IsType<Sent>(reply).Recipients);
        }
        await fixture.DrainAsync();

        foreach (var id in ids)
        {
            var bodies = fixture.Connections.Received(id)
                .Select(m => System.Text.Json.JsonDocument.Parse(m).RootElement)
                .Where(e => e.GetProperty("type").GetString() == "message" && e.GetProperty("room").GetString() == room)
                .Select(e => e.GetProperty("body").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, 20), bodies);
        }
    }
}

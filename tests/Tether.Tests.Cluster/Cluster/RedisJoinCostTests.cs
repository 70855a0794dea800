using System.Globalization;
using Tether.Contracts;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// A silo on Redis storage: what one join or leave writes to Redis in a room of 10 and in a room of 5,000 (issue 17
/// point 1: the same), and one sweep registration in buckets of 10 and 3,000; and that rooms and shards read back
/// exactly their members when they activate again.
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisJoinCostTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Changes = 50;
    private ByteCountedRedisCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await ByteCountedRedisCluster.StartAsync(nameof(RedisJoinCostTests), output, new Dictionary<string, string>
    {
        // Past 100 members a room moves to one shard that never splits: the 5,000 are one shard's set, the 10 a small
        // room's own set, the two kinds of member set there are.
        ["Rooms:ShardThreshold"] = "100",
        ["Rooms:InitialShards"] = "1",
        ["Rooms:ShardCapacity"] = "10000",
    });

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private IRoomGrain Room(string name) => _cluster.Client.GetGrain<IRoomGrain>(name);

    private async Task<HashSet<string>> FillAsync(string room, int count)
    {
        var members = new HashSet<string>(Enumerable.Range(0, count).Select(i => $"{room}-{i:D5}AbCd="), StringComparer.Ordinal);
        await Parallel.ForEachAsync(members, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, _) => await Room(room).Join(id, null));
        Assert.Equal(count, await Room(room).Count());
        return members;
    }

    [Fact]
    public async Task A_join_and_a_leave_write_the_same_bytes_in_a_room_of_10_as_in_a_room_of_5000_and_rooms_reactivate_with_exactly_their_members()
    {
        var small = await FillAsync("ten", 10);
        var large = await FillAsync("five-thousand", 5000);
        var smallCost = await BytesPerChangeAsync("ten", "ten-joiner");
        var largeCost = await BytesPerChangeAsync("five-thousand", "big-joiner");
        output.WriteLine($"bytes the silo sent to Redis per join or leave: room of 10 {smallCost:0}, room of 5,000 {largeCost:0}");

        // Before: a join rewrote the whole list, about 25 bytes per member (125 KB at 5,000). Now each is one SADD or
        // SREM of one id; a little background traffic (membership) may fall into either window.
        Assert.InRange(largeCost, 0, 2 * smallCost + 64);
        Assert.InRange(largeCost, 0, 400);

        // Every activation gone: the room, its shard, their sets read back from Redis.
        var management = _cluster.Client.GetGrain<IManagementGrain>(0);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await management.GetActiveGrains(GrainType.Create(TetherGrainTypes.Room))).Count +
               (await management.GetActiveGrains(GrainType.Create(TetherGrainTypes.RoomShard))).Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The rooms and shards were never deactivated.");
            await management.ForceActivationCollection(TimeSpan.Zero);
        }
        Assert.Equal(small.Order(StringComparer.Ordinal), await AllMembersAsync("ten"));
        Assert.Equal(large.Order(StringComparer.Ordinal), await AllMembersAsync("five-thousand"));
        Assert.Equal((10, 5000), (await Room("ten").Count(), await Room("five-thousand").Count()));
    }

    [Fact]
    public async Task A_sweep_registration_writes_the_same_bytes_in_a_bucket_of_10_as_in_one_of_3000()
    {
        // Sweep buckets are on every /connect's path: their registrations must not grow with the bucket either.
        var minute = DateTimeOffset.UtcNow.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture);
        var small = _cluster.Client.GetGrain<ISweepBucketGrain>(minute + "/001");
        var large = _cluster.Client.GetGrain<ISweepBucketGrain>(minute + "/002");
        for (var i = 0; i < 10; i++) await small.Register($"small-{i:D5}AbCd=");
        await Parallel.ForEachAsync(Enumerable.Range(0, 3000), new ParallelOptions { MaxDegreeOfParallelism = 32 },
            async (i, _) => await large.Register($"large-{i:D5}AbCd="));

        var smallCost = await BytesPerRegistrationAsync(small, "small-new");
        var largeCost = await BytesPerRegistrationAsync(large, "large-new");
        output.WriteLine($"bytes the silo sent to Redis per registration: bucket of 10 {smallCost:0}, bucket of 3,000 {largeCost:0}");

        // Before: the bucket's whole set, about 25 bytes per id (75 KB at 3,000), on every registration.
        Assert.InRange(largeCost, 0, 2 * smallCost + 64);
        Assert.InRange(largeCost, 0, 400);
        Assert.Equal((3000 + Changes, 10 + Changes), (await large.Count(), await small.Count()));
    }

    private async Task<double> BytesPerRegistrationAsync(ISweepBucketGrain bucket, string prefix)
    {
        var before = _cluster.Proxy.BytesSent;
        for (var i = 0; i < Changes; i++) await bucket.Register($"{prefix}-{i:D3}AbCd=");
        return (_cluster.Proxy.BytesSent - before) / (double)Changes;
    }

    /// <summary>Bytes the silo sent to Redis per change, over <see cref="Changes"/> joins then as many leaves.</summary>
    private async Task<double> BytesPerChangeAsync(string room, string joiner)
    {
        var before = _cluster.Proxy.BytesSent;
        for (var i = 0; i < Changes; i++) await Room(room).Join($"{joiner}-{i:D3}", null);
        for (var i = 0; i < Changes; i++) await Room(room).Leave($"{joiner}-{i:D3}", null, notify: false);
        return (_cluster.Proxy.BytesSent - before) / (2.0 * Changes);
    }

    private async Task<List<string>> AllMembersAsync(string room)
    {
        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await Room(room).GetMembers(after, 1000);
            seen.AddRange(page.Members);
            after = page.Next;
        }
        while (after is not null);
        return seen;
    }
}

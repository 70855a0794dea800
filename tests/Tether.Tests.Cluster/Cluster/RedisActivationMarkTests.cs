using System.Diagnostics;
using StackExchange.Redis;
using Tether.Contracts;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// A silo on Redis storage: every room activation stores its activation mark and removes it once deactivated, so marks
/// do not pile up in Redis however often small rooms come and go. Prints what the marks cost: bytes per activation and
/// deactivation, and activations a second (see docs/decisions/shard-rebalance.md).
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisActivationMarkTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Rooms = 500;
    private ByteCountedRedisCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await ByteCountedRedisCluster.StartAsync(nameof(RedisActivationMarkTests), output);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private IRoomGrain Room(string name) => _cluster.Client.GetGrain<IRoomGrain>(name);

    [Fact]
    public async Task Small_rooms_that_activate_and_deactivate_again_and_again_leave_no_activation_marks_behind()
    {
        var names = Enumerable.Range(0, Rooms).Select(i => $"pair-{i:D5}").ToArray();
        var options = new ParallelOptions { MaxDegreeOfParallelism = 32 };
        await Parallel.ForEachAsync(names, options, async (n, _) =>
        {
            await Room(n).Join(n + "-a", null);
            await Room(n).Join(n + "-b", null);
        });
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_cluster.Redis.ConnectionString);
        var marks = new RedisValue($"{_cluster.ServiceId}/membersets/drain/room/*");
        Assert.Equal(Rooms, await CountKeysAsync(redis, marks));

        var management = _cluster.Client.GetGrain<IManagementGrain>(0);
        for (var round = 0; round < 3; round++)
        {
            var bytes = _cluster.Proxy.BytesSent;
            var deadline = Stopwatch.StartNew();
            while ((await management.GetActiveGrains(GrainType.Create(TetherGrainTypes.Room))).Count > 0)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "The rooms were never deactivated.");
                await management.ForceActivationCollection(TimeSpan.Zero);
            }
            // Deactivated means each mark was removed: OnDeactivateAsync awaits the removal.
            Assert.Equal(0, await CountKeysAsync(redis, marks));
            var deactivated = (_cluster.Proxy.BytesSent - bytes) / (double)Rooms;

            bytes = _cluster.Proxy.BytesSent;
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(names, options, async (n, _) => Assert.Equal(2, await Room(n).Count()));
            output.WriteLine($"round {round}: {Rooms / clock.Elapsed.TotalSeconds:N0} activations/s; bytes the silo sent to Redis per activation " +
                $"{(_cluster.Proxy.BytesSent - bytes) / (double)Rooms:N0}, per deactivation {deactivated:N0}");
            Assert.Equal(Rooms, await CountKeysAsync(redis, marks));
        }
    }

    private static async Task<int> CountKeysAsync(ConnectionMultiplexer redis, RedisValue pattern)
    {
        var count = 0;
        await foreach (var _ in redis.GetServers()[0].KeysAsync(pattern: pattern)) count++;
        return count;
    }
}

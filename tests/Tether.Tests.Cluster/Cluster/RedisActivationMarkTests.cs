using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;
using Orleans.TestingHost;
using Tether.Contracts;
using Tether.Hosting;
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
    private readonly string _serviceId = "act-" + Guid.NewGuid().ToString("N")[..8];
    private RedisServer _redis = null!;
    private ByteCountingProxy _proxy = null!;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(RedisActivationMarkTests));
        output.WriteLine(_redis.Description);
        _proxy = ByteCountingProxy.Start(_redis.Port);
        var builder = new TestClusterBuilder(1);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ServiceId = _serviceId;
        builder.Properties["ConnectionStrings:redis"] = _redis.ConnectionString;
        builder.Properties["SiloRedis"] = _proxy.ConnectionString;
        builder.Properties["ManagementApi:Endpoint"] = "https://abc123.execute-api.us-east-1.amazonaws.com/test";
        builder.Properties["ManagementApi:AccessKeyId"] = TestCredentials.AccessKeyId;
        builder.Properties["ManagementApi:SecretAccessKey"] = TestCredentials.SecretAccessKey;
        builder.Properties["Rooms:Default"] = "";
        builder.Properties["Rooms:PresenceNotices"] = "false";
        builder.AddSiloBuilderConfigurator<RedisSilo>();
        builder.AddClientBuilderConfigurator<RedisClient>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _proxy.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private sealed class RedisSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.UseTetherRedisProviders(siloBuilder.Configuration["SiloRedis"]!);
            siloBuilder.AddTether(siloBuilder.Configuration, embedded: false);
        }
    }

    private sealed class RedisClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseTetherRedisProviders(configuration["ConnectionStrings:redis"]!);
    }

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
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var marks = new RedisValue($"{_serviceId}/membersets/drain/room/*");
        Assert.Equal(Rooms, await CountKeysAsync(redis, marks));

        var management = _cluster.Client.GetGrain<IManagementGrain>(0);
        for (var round = 0; round < 3; round++)
        {
            var bytes = _proxy.BytesSent;
            var deadline = Stopwatch.StartNew();
            while ((await management.GetActiveGrains(GrainType.Create(TetherGrainTypes.Room))).Count > 0)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "The rooms were never deactivated.");
                await management.ForceActivationCollection(TimeSpan.Zero);
            }
            // Deactivated means each mark was removed: OnDeactivateAsync awaits the removal.
            Assert.Equal(0, await CountKeysAsync(redis, marks));
            var deactivated = (_proxy.BytesSent - bytes) / (double)Rooms;

            bytes = _proxy.BytesSent;
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(names, options, async (n, _) => Assert.Equal(2, await Room(n).Count()));
            output.WriteLine($"round {round}: {Rooms / clock.Elapsed.TotalSeconds:N0} activations/s; bytes the silo sent to Redis per activation " +
                $"{(_proxy.BytesSent - bytes) / (double)Rooms:N0}, per deactivation {deactivated:N0}");
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

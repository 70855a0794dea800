using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using Tether.Contracts;
using Tether.Hosting;
using Tether.LocalGateway;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// Three in-process silos with Redis membership and Redis grain storage: a silo dies without warning, and a whole
/// cluster is replaced; no membership is lost and messages reach exactly the rooms' members afterwards.
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Connections = 240;
    private const int Rooms = 12;
    private readonly InMemoryConnections _connections = new();
    private readonly string _serviceId = "svc-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _ids = [.. Enumerable.Range(0, Connections).Select(i => $"conn{i:D4}AbCd=")];
    private RedisServer _redis = null!;
    private ManagementApiEmulatorHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(RedisClusterTests));
        output.WriteLine(_redis.Description);
        _gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), _connections);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>
    /// A <see cref="TestCluster"/> rather than an InProcessTestCluster: only it can leave out the test membership
    /// table, so these silos find each other through Redis as production silos do.
    /// </summary>
    private TestCluster BuildCluster(short silos)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ServiceId = _serviceId;
        builder.Properties["ConnectionStrings:redis"] = _redis.ConnectionString;
        builder.Properties["ManagementApi:Endpoint"] = _gateway.ConnectionUrl.ToString();
        builder.Properties["ManagementApi:AccessKeyId"] = TestCredentials.AccessKeyId;
        builder.Properties["ManagementApi:SecretAccessKey"] = TestCredentials.SecretAccessKey;
        builder.Properties["Rooms:Default"] = "lobby";
        builder.Properties["Rooms:ShardThreshold"] = "40";
        builder.Properties["Rooms:InitialShards"] = "4";
        builder.Properties["Rooms:ShardCapacity"] = "64";
        builder.Properties["Connections:ConnectGracePeriod"] = "00:00:00";
        builder.AddSiloBuilderConfigurator<RedisSilo>();
        builder.AddClientBuilderConfigurator<RedisClient>();
        return builder.Build();
    }

    private sealed class RedisSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = siloBuilder.Configuration;
            siloBuilder.UseTetherRedisProviders(configuration["ConnectionStrings:redis"]!);
            siloBuilder.Configure<ClusterMembershipOptions>(o =>
            {
                // Declare a dead silo dead within seconds, not the production default's tens of seconds.
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
            });
            siloBuilder.AddTether(configuration, embedded: false);
        }
    }

    private sealed class RedisClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseTetherRedisProviders(configuration["ConnectionStrings:redis"]!);
    }

    [Fact]
    public async Task Killing_the_silo_of_the_busiest_room_and_restarting_every_silo_lose_no_membership()
    {
        var expected = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal) { ["lobby"] = new(StringComparer.Ordinal) };
        var ids = _ids;

        await using (var cluster = BuildCluster(3))
        {
            await cluster.DeployAsync();
            await AssertMembershipTableIsInRedisAsync(cluster.Options.ClusterId, 3);
            foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            {
                _connections.Add(id);
                var room = $"room-{i % Rooms}";
                (expected.TryGetValue(room, out var members) ? members : expected[room] = new(StringComparer.Ordinal)).Add(id);
                expected["lobby"].Add(id);
            }
            await Parallel.ForEachAsync(ids.Select((id, i) => (id, i)), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (c, _) =>
                await cluster.Client.Connector().Connect(c.id, new ConnectRequest(null, [$"room-{c.i % Rooms}"], DateTimeOffset.UtcNow, null, null, null)));

            var lobby = cluster.Client.GetGrain<IRoomGrain>("lobby");
            var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(lobby);
            var victim = cluster.Silos.Single(s => s.SiloAddress.Equals(host));
            var clock = Stopwatch.StartNew();
            await cluster.KillSiloAsync(victim);

            // Recovered when the busiest room answers again, from a new activation that read its state back.
            var count = await RetryAsync(() => lobby.Count(), TimeSpan.FromSeconds(90));
            output.WriteLine($"killed {host}; the busiest room answered again after {clock.ElapsedMilliseconds} ms");
            Assert.Equal(Connections, count);
            await AssertMembershipAsync(cluster.Client, expected, ids);
            await AssertRoomMessageReachesExactlyItsMembersAsync(cluster.Client, "lobby", expected["lobby"]);
            await AssertRoomMessageReachesExactlyItsMembersAsync(cluster.Client, "room-3", expected["room-3"]);
        }

        // Every silo gone: a new cluster reads all of it back from Redis.
        await using (var restarted = BuildCluster(2))
        {
            await restarted.DeployAsync();
            await AssertMembershipAsync(restarted.Client, expected, ids);
            await AssertRoomMessageReachesExactlyItsMembersAsync(restarted.Client, "lobby", expected["lobby"]);
        }
    }

    /// <summary>The test cluster's own membership is replaced by Redis': the silos are listed there.</summary>
    private async Task AssertMembershipTableIsInRedisAsync(string clusterId, int silos)
    {
        using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var key = $"{_serviceId}/members/{clusterId}";
        var entries = await connection.GetDatabase().HashGetAllAsync(key);
        output.WriteLine($"membership hash {key}: {entries.Length} fields");
        Assert.True(entries.Length >= silos, $"expected the {silos} silos in Redis under {key}, found {entries.Length} fields");
    }

    private static async Task AssertMembershipAsync(IGrainFactory grains, Dictionary<string, HashSet<string>> expected, List<string> ids)
    {
        foreach (var (room, members) in expected)
        {
            var seen = new List<string>();
            string? after = null;
            do
            {
                var page = await RetryAsync(() => grains.GetGrain<IRoomGrain>(room).GetMembers(after, 500), TimeSpan.FromSeconds(60));
                seen.AddRange(page.Members);
                after = page.Next;
            }
            while (after is not null);
            Assert.Equal(members.Order(StringComparer.Ordinal), seen);
        }
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var snapshot = await RetryAsync(() => grains.GetGrain<IConnectionGrain>(id).GetSnapshot(), TimeSpan.FromSeconds(60));
            Assert.NotNull(snapshot);
            Assert.Equal(["lobby", $"room-{i % Rooms}"], snapshot.Rooms);
        }
    }

    private async Task AssertRoomMessageReachesExactlyItsMembersAsync(IGrainFactory grains, string room, HashSet<string> members)
    {
        var message = Envelopes.Message(Envelopes.NewMessageId(), room, null, null, "\"after failover\"", DateTimeOffset.UtcNow);
        var receipt = await RetryAsync(() => grains.GetGrain<IRoomGrain>(room).Publish(message, null, trackDelivery: true), TimeSpan.FromSeconds(60));
        var summary = await grains.GetGrain<IRoomGrain>(room).AwaitDelivery(message.Id, TimeSpan.FromSeconds(60));

        Assert.Equal(members.Count, receipt.Recipients);
        Assert.Equal((members.Count, members.Count, true), (summary.Recipients, summary.Delivered, summary.Complete));
        // Exactly the members, each once: nobody outside the room, no duplicates from a re-sent batch.
        var receipts = _ids.ToDictionary(id => id, id => _connections.Received(id).Count(m => m.Contains(message.Id, StringComparison.Ordinal)));
        Assert.Equal(members.Order(StringComparer.Ordinal), receipts.Where(r => r.Value > 0).Select(r => r.Key).Order(StringComparer.Ordinal));
        Assert.All(receipts.Values, n => Assert.InRange(n, 0, 1));
    }

    /// <summary>Calls into a cluster that is still noticing a dead silo fail for a while; the test measures how long.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (e is OrleansException or TimeoutException && deadline.Elapsed < timeout)
            {
                await Task.Delay(100);
            }
        }
    }
}

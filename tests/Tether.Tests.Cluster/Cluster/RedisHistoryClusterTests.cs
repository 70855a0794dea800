using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Orleans.Configuration;
using Orleans.TestingHost;
using Tether.Contracts;
using Tether.Hosting;
using Tether.LocalGateway;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// History in Redis across silos: the silo hosting a room dies without warning, and the room's next activation, on
/// another silo, continues its seq in the same epoch, still knows the request ids it accepted, and replays from Redis.
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisHistoryClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly InMemoryConnections _connections = new();
    private RedisServer _redis = null!;
    private ManagementApiEmulatorHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(RedisHistoryClusterTests));
        output.WriteLine(_redis.Description);
        _gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), _connections);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private TestCluster BuildCluster(short silos)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ServiceId = "svc-" + Guid.NewGuid().ToString("N")[..8];
        builder.Properties["ConnectionStrings:redis"] = _redis.ConnectionString;
        builder.Properties["ManagementApi:Endpoint"] = _gateway.ConnectionUrl.ToString();
        builder.Properties["ManagementApi:AccessKeyId"] = TestCredentials.AccessKeyId;
        builder.Properties["ManagementApi:SecretAccessKey"] = TestCredentials.SecretAccessKey;
        builder.Properties["Rooms:Default"] = "";
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
    public async Task Killing_the_rooms_silo_loses_no_acknowledged_message_and_reuses_no_seq()
    {
        const string Room = "history-room";
        await using var cluster = BuildCluster(3);
        await cluster.DeployAsync();
        var grains = cluster.Client;
        var sender = "senderAbCdEfGh0=";
        _connections.Add(sender);
        await grains.Connector().Connect(sender, new ConnectRequest(null, [Room], DateTimeOffset.UtcNow, null, null, null));

        var acknowledged = new List<Sent>();
        for (var i = 1; i <= 20; i++)
        {
            acknowledged.Add(Assert.IsType<Sent>(await grains.GetGrain<IConnectionGrain>(sender)
                .Handle(new SendToRoom(Room, i.ToString(CultureInfo.InvariantCulture), Echo: true) { RequestId = "r" + i })));
        }
        var epoch = acknowledged[0].Epoch!;
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), acknowledged.Select(s => s.Seq!.Value));

        var room = grains.GetGrain<IRoomGrain>(Room);
        var host = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(room);
        await cluster.KillSiloAsync(cluster.Silos.Single(s => s.SiloAddress.Equals(host)));
        var clock = Stopwatch.StartNew();

        // The room's next activation, elsewhere, reads its head back from Redis.
        var next = await RetryAsync(() => grains.GetGrain<IConnectionGrain>(sender)
            .Handle(new SendToRoom(Room, "21", Echo: true) { RequestId = "r21" }), TimeSpan.FromSeconds(90));
        output.WriteLine($"the room answered again after {clock.ElapsedMilliseconds} ms");
        var newHost = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(room);
        var resent = Assert.IsType<Sent>(await grains.GetGrain<IConnectionGrain>(sender)
            .Handle(new SendToRoom(Room, "5", Echo: true) { RequestId = "r5" }));

        var joiner = "joinerAbCdEfGh0=";
        _connections.Add(joiner);
        await grains.Connector().Connect(joiner, new ConnectRequest(null, [], DateTimeOffset.UtcNow, null, null, null));
        var joined = Assert.IsType<Joined>(await grains.GetGrain<IConnectionGrain>(joiner).Handle(new JoinRoom(Room, new StreamPosition(epoch, 10))));
        var page = await room.Messages(0, 1000);
        await _connections.WaitUntilAsync(() => _connections.ReceivedCount(joiner) >= 11, TimeSpan.FromSeconds(30));

        Assert.NotEqual(host, newHost);
        Assert.Equal((21L, epoch), (Assert.IsType<Sent>(next).Seq!.Value, ((Sent)next).Epoch));
        Assert.Equal((acknowledged[4].MessageId, 5L), (resent.MessageId, resent.Seq!.Value));
        Assert.Equal((true, 11, 21L), (joined.Recovered!.Value, joined.Replayed!.Value, joined.Seq));
        Assert.Equal(Enumerable.Range(11, 11).Select(i => (long)i), _connections.Received(joiner)
            .Select(m => JsonDocument.Parse(m).RootElement.GetProperty("seq").GetInt64()));
        Assert.Equal(Enumerable.Range(1, 21).Select(i => (long)i), page.Messages.Select(m => JsonDocument.Parse(m).RootElement.GetProperty("seq").GetInt64()));
        Assert.Equal(acknowledged.Select(s => s.MessageId), page.Messages.Take(20).Select(m => JsonDocument.Parse(m).RootElement.GetProperty("id").GetString()));
    }

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

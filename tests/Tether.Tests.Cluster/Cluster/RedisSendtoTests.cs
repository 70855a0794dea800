using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;
using Tether.Contracts;
using Tether.Hosting;
using Tether.LocalGateway;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// <c>sendto</c> asks Redis grain storage whether the recipient exists before calling its grain (issue 18 point 4): it
/// must read the very record the recipient's grain writes, or every direct message would be refused.
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisSendtoTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly InMemoryConnections _connections = new();
    private RedisServer _redis = null!;
    private ManagementApiEmulatorHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(RedisSendtoTests));
        output.WriteLine(_redis.Description);
        _gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), _connections);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private sealed class RedisSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = siloBuilder.Configuration;
            siloBuilder.UseTetherRedisProviders(configuration["ConnectionStrings:redis"]!);
            siloBuilder.AddTether(configuration, embedded: false);
        }
    }

    private sealed class RedisClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseTetherRedisProviders(configuration["ConnectionStrings:redis"]!);
    }

    [Fact]
    public async Task Sendto_reaches_stored_connections_and_users_and_refuses_unknown_ones()
    {
        var builder = new TestClusterBuilder(2);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ServiceId = "svc-" + Guid.NewGuid().ToString("N")[..8];
        builder.Properties["ConnectionStrings:redis"] = _redis.ConnectionString;
        builder.Properties["ManagementApi:Endpoint"] = _gateway.ConnectionUrl.ToString();
        builder.Properties["ManagementApi:AccessKeyId"] = TestCredentials.AccessKeyId;
        builder.Properties["ManagementApi:SecretAccessKey"] = TestCredentials.SecretAccessKey;
        builder.AddSiloBuilderConfigurator<RedisSilo>();
        builder.AddClientBuilderConfigurator<RedisClient>();
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        IConnectionGrain Connection(string id) => cluster.Client.GetGrain<IConnectionGrain>(id);
        const string sender = "sendtoSenderAb=";
        const string target = "sendtoTargetAb=";
        foreach (var id in new[] { sender, target })
        {
            _connections.Add(id);
            await cluster.Client.Connector().Connect(id, new ConnectRequest(id == target ? "ivy" : null, [], DateTimeOffset.UtcNow, null, null, null));
        }

        var byId = await Connection(sender).Handle(new SendDirect(target, null, "\"to the id\""));
        var byUser = await Connection(sender).Handle(new SendDirect(null, "ivy", "\"to the user\""));
        var unknownId = await Connection(sender).Handle(new SendDirect("sendtoNobodyAb=", null, "\"x\""));
        var unknownUser = await Connection(sender).Handle(new SendDirect(null, "nobody-" + Guid.NewGuid().ToString("N"), "\"x\""));
        await _connections.WaitUntilAsync(() => _connections.Received(target).Count >= 2, TimeSpan.FromSeconds(30));
        await Connection(target).Disconnect("test");
        var afterDisconnect = await Connection(sender).Handle(new SendDirect(target, null, "\"late\""));

        Assert.Equal(1, Assert.IsType<Sent>(byId).Recipients);
        Assert.Equal(1, Assert.IsType<Sent>(byUser).Recipients);
        Assert.Equal("recipient_not_found", Assert.IsType<ErrorReply>(unknownId).Code);
        Assert.Equal("recipient_not_found", Assert.IsType<ErrorReply>(unknownUser).Code);
        Assert.Equal("recipient_not_found", Assert.IsType<ErrorReply>(afterDisconnect).Code);
    }
}

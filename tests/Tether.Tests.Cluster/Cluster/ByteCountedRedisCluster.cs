using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;
using Tether.Hosting;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// One silo on Redis storage whose every byte to Redis passes a counting proxy (on redis-server and Garnet alike), and
/// a client that talks to Redis directly: for tests that state what an operation writes to Redis. No default room and
/// no presence notices, so that only the operation under test writes.
/// </summary>
internal sealed class ByteCountedRedisCluster : IAsyncDisposable
{
    private ByteCountedRedisCluster(string serviceId, RedisServer redis, ByteCountingProxy proxy, TestCluster cluster)
    {
        ServiceId = serviceId;
        Redis = redis;
        Proxy = proxy;
        Cluster = cluster;
    }

    /// <summary>Orleans' service id, the prefix of the silo's Redis keys.</summary>
    public string ServiceId { get; }

    public RedisServer Redis { get; }

    public ByteCountingProxy Proxy { get; }

    public TestCluster Cluster { get; }

    /// <summary>The cluster's client (it talks to Redis directly, not through the proxy).</summary>
    public IClusterClient Client => Cluster.Client;

    /// <param name="name">Prefix of the service id, and the name the Redis server reports as.</param>
    /// <param name="settings">Silo settings on top of the shared ones.</param>
    public static async Task<ByteCountedRedisCluster> StartAsync(string name, ITestOutputHelper output, IReadOnlyDictionary<string, string>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var serviceId = name + "-" + Guid.NewGuid().ToString("N")[..8];
        var redis = await RedisServer.StartAsync(reportAs: name);
        output.WriteLine(redis.Description);
        var proxy = ByteCountingProxy.Start(redis.Port);
        var builder = new TestClusterBuilder(1);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ServiceId = serviceId;
        builder.Properties["ConnectionStrings:redis"] = redis.ConnectionString;
        builder.Properties["SiloRedis"] = proxy.ConnectionString;
        builder.Properties["ManagementApi:Endpoint"] = "https://abc123.execute-api.us-east-1.amazonaws.com/test";
        builder.Properties["ManagementApi:AccessKeyId"] = TestCredentials.AccessKeyId;
        builder.Properties["ManagementApi:SecretAccessKey"] = TestCredentials.SecretAccessKey;
        builder.Properties["Rooms:Default"] = "";
        builder.Properties["Rooms:PresenceNotices"] = "false";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) builder.Properties[key] = value;
        builder.AddSiloBuilderConfigurator<RedisSilo>();
        builder.AddClientBuilderConfigurator<RedisClient>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new ByteCountedRedisCluster(serviceId, redis, proxy, cluster);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Proxy.DisposeAsync();
        await Redis.DisposeAsync();
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
}

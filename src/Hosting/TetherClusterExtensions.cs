using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;
using Tether.Contracts;

namespace Tether.Hosting;

/// <summary>
/// The production shape: silos that cluster, store grain state and keep reminders in Redis
/// (<c>ConnectionStrings:redis</c>), and API nodes that join as Orleans clients.
/// </summary>
public static class TetherClusterExtensions
{
    /// <summary>The Redis connection string, or null for the embedded (one-process, in-memory) default.</summary>
    public static string? RedisConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString("redis") is { } redis && !string.IsNullOrWhiteSpace(redis) ? redis : null;

    /// <summary>
    /// Redis clustering, grain storage (<see cref="TetherStorage.Name"/>) and reminders, with ids, endpoints and
    /// membership timings from Orleans' configuration section.
    /// </summary>
    public static ISiloBuilder UseTetherRedisCluster(this ISiloBuilder silo, IConfiguration configuration, string redis)
    {
        silo.Services.Configure<ClusterOptions>(o => ConfigureIds(o, configuration));
        silo.Services.Configure<EndpointOptions>(o => ConfigureEndpoints(o, configuration));
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("Orleans:Membership"));
        return silo.UseTetherRedisProviders(redis);
    }

    /// <summary>Membership, grain storage and reminders in Redis, without touching ids or endpoints (tests set their own).</summary>
    public static ISiloBuilder UseTetherRedisProviders(this ISiloBuilder silo, string redis)
    {
        var redisOptions = ParseRedis(redis);
        silo.UseRedisClustering(o => o.ConfigurationOptions = redisOptions.Clone());
        silo.AddRedisGrainStorage(TetherStorage.Name, options => options.Configure(o =>
        {
            o.ConfigurationOptions = redisOptions.Clone();
            // Cleared state (a disconnected connection, an emptied room) is deleted, not kept as an empty value.
            o.DeleteStateOnClear = true;
        }));
        silo.UseRedisReminderService(o => o.ConfigurationOptions = redisOptions.Clone());
        return silo;
    }

    /// <summary>An Orleans client of the Redis cluster: it finds the silos' gateways in the membership table.</summary>
    public static IClientBuilder UseTetherRedisCluster(this IClientBuilder client, IConfiguration configuration, string redis)
    {
        client.Services.Configure<ClusterOptions>(o => ConfigureIds(o, configuration));
        client.Services.Configure<GatewayOptions>(o =>
            o.GatewayListRefreshPeriod = configuration.GetValue("Orleans:Gateway:RefreshPeriod", TimeSpan.FromSeconds(10)));
        // A call stranded on a silo that died is only failed by this timeout. API Gateway gives up on an integration
        // after 29 s anyway, so answer 503 well before that instead of Orleans' default 30 s.
        client.Services.Configure<ClientMessagingOptions>(o =>
            o.ResponseTimeout = configuration.GetValue("Orleans:Messaging:ResponseTimeout", TimeSpan.FromSeconds(10)));
        return client.UseTetherRedisProviders(redis);
    }

    /// <summary>Redis membership for a client, without touching ids (tests set their own).</summary>
    public static IClientBuilder UseTetherRedisProviders(this IClientBuilder client, string redis)
    {
        var redisOptions = ParseRedis(redis);
        return client.UseRedisClustering(o => o.ConfigurationOptions = redisOptions.Clone());
    }

    private static ConfigurationOptions ParseRedis(string redis)
    {
        try
        {
            var options = ConfigurationOptions.Parse(redis);
            // Keep retrying while Redis restarts instead of failing the silo's start.
            options.AbortOnConnectFail = false;
            return options;
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException(
                "ConnectionStrings:redis is not a valid StackExchange.Redis connection string (e.g. 'redis:6379' or 'host:6379,password=…').", e);
        }
    }

    private static void ConfigureIds(ClusterOptions options, IConfiguration configuration)
    {
        options.ServiceId = configuration["Orleans:ServiceId"] ?? "tether";
        options.ClusterId = configuration["Orleans:ClusterId"] ?? "tether";
    }

    /// <summary>
    /// Ports, the address other silos and clients should dial (<c>AdvertisedIPAddress</c>: in a container, the
    /// container's address; default: the first non-loopback address) and the address to bind
    /// (<c>ListenAddress</c>, default: every interface).
    /// </summary>
    private static void ConfigureEndpoints(EndpointOptions options, IConfiguration configuration)
    {
        var section = configuration.GetSection("Orleans:Endpoints");
        options.SiloPort = section.GetValue("SiloPort", EndpointOptions.DEFAULT_SILO_PORT);
        options.GatewayPort = section.GetValue("GatewayPort", EndpointOptions.DEFAULT_GATEWAY_PORT);
        if (ParseAddress(section, "AdvertisedIPAddress") is { } advertised) options.AdvertisedIPAddress = advertised;
        var listen = ParseAddress(section, "ListenAddress") ?? IPAddress.Any;
        options.SiloListeningEndpoint = new IPEndPoint(listen, options.SiloPort);
        options.GatewayListeningEndpoint = options.GatewayPort == 0 ? null : new IPEndPoint(listen, options.GatewayPort);
    }

    private static IPAddress? ParseAddress(IConfigurationSection section, string key)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text)) return null;
        return IPAddress.TryParse(text, out var address)
            ? address
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Orleans:Endpoints:{key} '{text}' is not an IP address."));
    }

    /// <summary>A silo must outlive its drain: grains deactivate, then the dispatcher empties its queues.</summary>
    public static IServiceCollection AddTetherShutdownTimeout(this IServiceCollection services, IConfiguration configuration)
    {
        var drain = configuration.GetValue("Delivery:DrainTimeout", TimeSpan.FromSeconds(20));
        services.Configure<HostOptions>(o => o.ShutdownTimeout = drain + TimeSpan.FromSeconds(30));
        return services;
    }
}

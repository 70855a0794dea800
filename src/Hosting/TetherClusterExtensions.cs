using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using StackExchange.Redis;
using Tether.Contracts;
using Tether.Delivery;

namespace Tether.Hosting;

/// <summary>
/// The production shape: silos that cluster, store grain state and keep reminders in Redis
/// (<c>ConnectionStrings__redis</c>), and API nodes that join as Orleans clients.
/// </summary>
public static class TetherClusterExtensions
{
    /// <summary>Beyond the dispatcher's drain, the time a silo needs to deactivate its grains and leave the cluster.</summary>
    private static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(30);

    /// <summary>The Redis connection string, or null for the embedded (one-process, in-memory) default.</summary>
    public static string? RedisConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString("redis") is { } redis && !string.IsNullOrWhiteSpace(redis) ? redis : null;

    /// <summary>Redis clustering, grain storage (<see cref="TetherStorage.Name"/>) and reminders, with ids, endpoints and membership timings from <c>Orleans__*</c>.</summary>
    public static ISiloBuilder UseTetherRedisCluster(this ISiloBuilder silo, IConfiguration configuration, string redis)
    {
        silo.Services.AddOrleansHostOptions(configuration, OrleansHostOptions.DefaultClusterId);
        silo.Services.AddOptions<EndpointOptions>().Configure<IOptions<OrleansHostOptions>>((endpoints, host) => ConfigureEndpoints(endpoints, host.Value.Endpoints));
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection($"{OrleansHostOptions.Section}:Membership"));
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
        // History and member sets in Redis too, so an acknowledged message or join outlives the silo that accepted it.
        silo.Services.AddSingleton(new TetherRedisConnection(redisOptions));
        silo.Services.AddSingleton<Grains.IHistoryStore, RedisHistoryStore>();
        silo.Services.AddSingleton<Grains.IMemberSets, RedisMemberSets>();
        silo.Services.AddTetherWireExceptions();
        return silo;
    }

    /// <summary>An Orleans client of the Redis cluster: it finds the silos' gateways in the membership table.</summary>
    public static IClientBuilder UseTetherRedisCluster(this IClientBuilder client, IConfiguration configuration, string redis)
    {
        client.Services.AddOrleansHostOptions(configuration, OrleansHostOptions.DefaultClusterId);
        client.Services.AddOptions<GatewayOptions>().Configure<IOptions<OrleansHostOptions>>((gateway, host) =>
            gateway.GatewayListRefreshPeriod = host.Value.Gateway.RefreshPeriod);
        client.Services.AddOptions<ClientMessagingOptions>().Configure<IOptions<OrleansHostOptions>>((messaging, host) =>
            messaging.ResponseTimeout = host.Value.Messaging.ResponseTimeout);
        // The silos' admission wait, as this node's configuration states it, must end before this client gives up.
        client.Services.AddOptions<DeliveryOptions>().Bind(configuration.GetSection(DeliveryOptions.Section));
        client.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OrleansHostOptions>, ClientAdmissionTimeoutValidator>());
        // Calls stranded on a silo that dies fail when membership declares it dead, not at the response timeout.
        client.Services.AddSingleton<StrandedCalls>();
        client.Services.AddSingleton<IOutgoingGrainCallFilter>(sp => sp.GetRequiredService<StrandedCalls>());
        client.Services.AddHostedService<DeadSiloWatch>();
        return client.UseTetherRedisProviders(redis);
    }

    /// <summary>Redis membership for a client, without touching ids (tests set their own).</summary>
    public static IClientBuilder UseTetherRedisProviders(this IClientBuilder client, string redis)
    {
        var redisOptions = ParseRedis(redis);
        client.Services.AddTetherWireExceptions();
        return client.UseRedisClustering(o => o.ConfigurationOptions = redisOptions.Clone());
    }

    /// <summary>Localhost clustering, with ports and ids from <c>Orleans__Endpoints__*</c>, <c>Orleans__ServiceId</c> and <c>Orleans__ClusterId</c>.</summary>
    public static ISiloBuilder UseLocalhostDevelopmentCluster(this ISiloBuilder silo, IConfiguration configuration, string defaultClusterId)
    {
        silo.UseLocalhostClustering();
        silo.Services.AddOrleansHostOptions(configuration, defaultClusterId);
        // After Orleans' localhost defaults, which also advertise the loopback address.
        silo.Services.AddOptions<EndpointOptions>().Configure<IOptions<OrleansHostOptions>>((endpoints, host) =>
        {
            endpoints.SiloPort = host.Value.Endpoints.SiloPort;
            endpoints.GatewayPort = host.Value.Endpoints.GatewayPort;
        });
        return silo;
    }

    /// <summary>A silo must outlive its drain: grains deactivate, then the dispatcher empties its queues.</summary>
    public static IServiceCollection AddTetherShutdownTimeout(this IServiceCollection services)
    {
        services.AddOptions<HostOptions>().Configure<IOptions<DeliveryOptions>>((host, delivery) =>
            host.ShutdownTimeout = delivery.Value.DrainTimeout + ShutdownMargin);
        return services;
    }

    /// <summary>Binds <c>Orleans__*</c> once per host and gives Orleans its ids from it.</summary>
    private static void AddOrleansHostOptions(this IServiceCollection services, IConfiguration configuration, string defaultClusterId)
    {
        services.AddOptions<OrleansHostOptions>().Bind(configuration.GetSection(OrleansHostOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OrleansHostOptions>, OrleansHostOptionsValidator>());
        services.AddOptions<ClusterOptions>().Configure<IOptions<OrleansHostOptions>>((cluster, host) =>
        {
            cluster.ServiceId = host.Value.ServiceId;
            cluster.ClusterId = string.IsNullOrWhiteSpace(host.Value.ClusterId) ? defaultClusterId : host.Value.ClusterId;
        });
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
                "ConnectionStrings__redis is not a valid StackExchange.Redis connection string (e.g. 'redis:6379' or 'host:6379,password=…').", e);
        }
    }

    /// <summary>Ports, the advertised address (default: Orleans' pick, the first non-loopback address) and the address to bind (default: every interface).</summary>
    private static void ConfigureEndpoints(EndpointOptions options, OrleansEndpointSettings settings)
    {
        options.SiloPort = settings.SiloPort;
        options.GatewayPort = settings.GatewayPort;
        if (Address(settings.AdvertisedIPAddress) is { } advertised) options.AdvertisedIPAddress = advertised;
        var listen = Address(settings.ListenAddress) ?? IPAddress.Any;
        options.SiloListeningEndpoint = new IPEndPoint(listen, options.SiloPort);
        options.GatewayListeningEndpoint = options.GatewayPort == 0 ? null : new IPEndPoint(listen, options.GatewayPort);
    }

    /// <summary>Null when unset or unparsable; <see cref="OrleansHostOptionsValidator"/> refuses the latter at start.</summary>
    private static IPAddress? Address(string? text) => IPAddress.TryParse(text, out var address) ? address : null;
}

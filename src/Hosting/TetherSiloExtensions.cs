using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using GrainCollectionOptions = Orleans.Configuration.GrainCollectionOptions;
using Tether.Contracts;
using Tether.Delivery;
using Tether.Grains;

namespace Tether.Hosting;

/// <summary>What every silo of ours needs besides clustering and storage: options, the Management API client, the dispatcher.</summary>
public static class TetherSiloExtensions
{
    /// <summary>
    /// Adds the grains' services. <paramref name="embedded"/> is the one-process default: it may post to the local
    /// gateway and sign with the local credential pair when nothing else is configured.
    /// </summary>
    public static ISiloBuilder AddTether(this ISiloBuilder silo, IConfiguration configuration, bool embedded)
    {
        var services = silo.Services;
        services.AddTetherOptions(configuration);
        services.AddOptions<ConnectionOptions>().Bind(configuration.GetSection(ConnectionOptions.Section))
            .Validate(o => o.ConnectGracePeriod >= TimeSpan.Zero, "Connections:ConnectGracePeriod must not be negative.")
            .Validate(o => o.SweepInterval >= TimeSpan.FromSeconds(1), "Connections:SweepInterval must be at least 1 second (Orleans reminders also enforce their minimum period).")
            .Validate(o => o.MaxLifetime > TimeSpan.Zero, "Connections:MaxLifetime must be positive.")
            .Validate(o => o.SweepChecksPerSecond >= 1, "Connections:SweepChecksPerSecond must be at least 1.")
            .Validate(o => o.IdleActivationAge > o.ConnectGracePeriod,
                "Connections:IdleActivationAge must be longer than Connections:ConnectGracePeriod (a connection's grace recheck runs in its activation).")
            .Validate<IOptions<GrainCollectionOptions>>((o, collection) => o.IdleActivationAge > collection.Value.CollectionQuantum,
                "Connections:IdleActivationAge must be longer than Orleans:GrainCollection:CollectionQuantum (default 1 minute).")
            .ValidateOnStart();
        services.AddSingleton<SweepLimiter>();
        silo.AddTetherActivationCollection(configuration);
        silo.AddTetherDirectoryCache(configuration, singleSilo: embedded);
        services.AddOptions<DeliveryOptions>().Bind(configuration.GetSection(DeliveryOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ManagementApiOptions>().Bind(configuration.GetSection(ManagementApiOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddTimeProvider();
        services.AddTetherMetrics();
        silo.AddActivityPropagation();
        silo.AddIncomingGrainCallFilter<GrainLogScopeFilter>();
        silo.AddPlacementDirector<RoomShardPlacement, RoomShardPlacementDirector>();

        services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Tether.ManagementApi");
            return ManagementApiSetup.Resolve(sp.GetRequiredService<IOptions<ManagementApiOptions>>().Value, configuration, embedded, logger);
        });
        services.AddSingleton<IManagementApiClient>(sp =>
        {
            var target = sp.GetRequiredService<ManagementApiTarget>();
            return new ManagementApiClient(target.Endpoint, target.Region, target.Credentials,
                sp.GetRequiredService<IOptions<ManagementApiOptions>>().Value, sp.GetRequiredService<ILogger<ManagementApiClient>>(),
                metrics: sp.GetRequiredService<DeliveryMetrics>());
        });
        services.AddSingleton<IGoneConnections, GoneConnections>();
        services.AddSingleton<DeliveryDispatcher>();
        services.AddSingleton<IDeliveryDispatcher>(sp => sp.GetRequiredService<DeliveryDispatcher>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, DispatcherLifecycle>();
        services.AddHostedService<ManagementApiAnnouncer>();
        return silo;
    }

    /// <summary>
    /// Idle connection grains (and sweep buckets between passes) are collected after <c>Connections:IdleActivationAge</c>
    /// rather than Orleans' default two hours: 100,000 idle connections then cost their stored state, not 100,000
    /// activations. Orleans' own collection settings are read from <c>Orleans:GrainCollection</c>.
    /// </summary>
    private static void AddTetherActivationCollection(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.Configure<GrainCollectionOptions>(configuration.GetSection("Orleans:GrainCollection"));
        // Read from configuration, not IOptions<ConnectionOptions>: validating those reads these options.
        var age = (configuration.GetSection(ConnectionOptions.Section).Get<ConnectionOptions>() ?? new ConnectionOptions()).IdleActivationAge;
        silo.Services.Configure<GrainCollectionOptions>(collection =>
        {
            collection.ClassSpecificCollectionAge[typeof(ConnectionGrain).FullName!] = age;
            collection.ClassSpecificCollectionAge[typeof(SweepBucketGrain).FullName!] = age;
        });
    }

    /// <summary>
    /// Localhost clustering, with ports and ids from Orleans' configuration section
    /// (<c>Orleans:Endpoints:SiloPort</c>, <c>GatewayPort</c>, <c>Orleans:ServiceId</c>, <c>ClusterId</c>).
    /// </summary>
    public static ISiloBuilder UseLocalhostDevelopmentCluster(this ISiloBuilder silo, IConfiguration configuration, string defaultClusterId)
    {
        silo.UseLocalhostClustering(
            siloPort: configuration.GetValue("Orleans:Endpoints:SiloPort", 11111),
            gatewayPort: configuration.GetValue("Orleans:Endpoints:GatewayPort", 30000),
            serviceId: configuration["Orleans:ServiceId"] ?? "tether",
            clusterId: configuration["Orleans:ClusterId"] ?? defaultClusterId);
        return silo;
    }

    /// <summary>Options both the silo and the API read.</summary>
    public static IServiceCollection AddTetherOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RoomOptions>().Bind(configuration.GetSection(RoomOptions.Section))
            .Validate(o => o.DefaultRoom is null || RoomNames.IsValid(o.DefaultRoom), "Rooms:Default is not a valid room name.")
            .Validate(o => o.PresenceMaxMembers >= 0, "Rooms:PresenceMaxMembers must not be negative.")
            .Validate(o => o.ShardThreshold >= 1, "Rooms:ShardThreshold must be at least 1.")
            .Validate(o => o.InitialShards is >= 1 and <= RoomShards.MaxShards && int.IsPow2(o.InitialShards),
                $"Rooms:InitialShards must be a power of two between 1 and {RoomShards.MaxShards}.")
            .Validate(o => o.ShardCapacity >= 2, "Rooms:ShardCapacity must be at least 2.")
            .Validate(o => o.ShardHandOverTimeout > TimeSpan.Zero && o.ShardHandOverTimeout <= RoomShards.MaxHandOverTimeout,
                $"Rooms:ShardHandOverTimeout must be positive and at most {RoomShards.MaxHandOverTimeout}.")
            .Validate(o => o.ShardHandOverMaxDeferredBytes >= 0, "Rooms:ShardHandOverMaxDeferredBytes must not be negative.")
            .ValidateOnStart();
        services.AddOptions<LimitOptions>().Bind(configuration.GetSection(LimitOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LimitOptions>, LimitOptionsValidator>());
        return services;
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider))) services.AddSingleton(TimeProvider.System);
    }

    /// <summary>
    /// Runs the dispatcher inside the silo's lifecycle rather than as a hosted service: on shutdown Orleans deactivates
    /// the grains first (their last messages still reach the dispatcher), and only then does the dispatcher stop
    /// accepting work and drain its queues, while messaging still works for its 410 reports.
    /// </summary>
    private sealed class DispatcherLifecycle(DeliveryDispatcher dispatcher) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(DeliveryDispatcher), ServiceLifecycleStage.ApplicationServices, dispatcher.StartAsync, dispatcher.StopAsync);
    }

    /// <summary>Says once, at start, where messages are posted and how they are signed.</summary>
    private sealed class ManagementApiAnnouncer(ManagementApiTarget target, ILogger<ManagementApiAnnouncer> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogInformation("Posting messages to {Endpoint}/@connections/{{id}} (region {Region}, credentials from {CredentialSource})",
                target.Endpoint.ToString().TrimEnd('/'), target.Region, target.CredentialSource);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using GrainCollectionOptions = Orleans.Configuration.GrainCollectionOptions;
using ReminderOptions = Orleans.Hosting.ReminderOptions;
using Tether.Contracts;
using Tether.Delivery;
using Tether.Grains;

namespace Tether.Hosting;

/// <summary>What every silo of ours needs besides clustering and storage: options, the Management API client, the dispatcher.</summary>
public static class TetherSiloExtensions
{
    /// <summary>
    /// Adds the grains' services. <paramref name="embedded"/>: the one-process shape (a single silo).
    /// <paramref name="localDefaults"/>: Development's embedded default, which may post to the local gateway and sign
    /// with the local credential pair when nothing else is configured; everywhere else the endpoint must be set.
    /// </summary>
    public static ISiloBuilder AddTether(this ISiloBuilder silo, IConfiguration configuration, bool embedded, bool localDefaults = false)
    {
        var services = silo.Services;
        services.AddTetherOptions(configuration);
        services.AddValidatedOptions<ConnectionOptions, ConnectionOptionsValidator>(configuration.GetSection(ConnectionOptions.Section));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConnectionOptions>, SweepIntervalValidator>());
        services.AddSingleton<SweepLimiter>();
        silo.AddTetherActivationCollection(configuration);
        silo.AddTetherDirectoryCache(configuration, singleSilo: embedded);
        services.AddValidatedOptions<DeliveryOptions, DeliveryOptionsValidator>(configuration.GetSection(DeliveryOptions.Section));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeliveryOptions>, SiloAdmissionTimeoutValidator>());
        services.AddOptions<ManagementApiOptions>().Configure(o => ManagementApiOptions.Bind(configuration, o)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ManagementApiOptions>>(new ManagementApiOptionsValidator(endpointRequired: !localDefaults)));
        services.TryAddTimeProvider();
        services.AddValidatedOptions<HistoryOptions, HistoryOptionsValidator>(configuration.GetSection(HistoryOptions.Section));
        // The embedded defaults; the Redis cluster shape registers its own stores first.
        services.TryAddSingleton<IHistoryStore, InMemoryHistoryStore>();
        services.TryAddSingleton<IMemberSets, InMemoryMemberSets>();
        services.AddTetherMetrics();
        silo.AddActivityPropagation();
        silo.AddIncomingGrainCallFilter<GrainLogScopeFilter>();
        silo.AddPlacementDirector<RoomShardPlacement, RoomShardPlacementDirector>();
        services.AddSingleton<RoomShardRebalancer>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<RoomShardRebalancer>());

        services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Tether.ManagementApi");
            return ManagementApiSetup.Resolve(sp.GetRequiredService<IOptions<ManagementApiOptions>>().Value, localDefaults, logger);
        });
        services.AddSingleton<IManagementApiClient>(sp =>
        {
            var target = sp.GetRequiredService<ManagementApiTarget>();
            return new ManagementApiClient(target.Endpoint, target.Region, target.Credentials,
                sp.GetRequiredService<IOptions<ManagementApiOptions>>().Value, sp.GetRequiredService<ILogger<ManagementApiClient>>(),
                metrics: sp.GetRequiredService<DeliveryMetrics>());
        });
        services.AddSingleton<IGoneConnections, GoneConnections>();
        services.AddSingleton<IBatchRecipients, BatchConnections>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, PostBudgetSplit>();
        services.AddTetherHooks(configuration);
        services.AddSingleton<PresenceBacklog>();
        services.AddSingleton<DeliveryDispatcher>();
        services.AddSingleton<IDeliveryDispatcher>(sp => sp.GetRequiredService<DeliveryDispatcher>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, DispatcherLifecycle>();
        services.AddHostedService<ManagementApiAnnouncer>();
        return silo;
    }

    /// <summary>
    /// Idle connection grains (and sweep buckets between passes) are collected after <c>Connections__IdleActivationAge</c>
    /// rather than Orleans' default two hours: 100,000 idle connections then cost their stored state, not 100,000
    /// activations. Orleans' own collection settings are read from <c>Orleans__GrainCollection__*</c>.
    /// </summary>
    private static void AddTetherActivationCollection(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.Configure<GrainCollectionOptions>(configuration.GetSection($"{OrleansHostOptions.Section}:GrainCollection"));
        services.AddOptions<GrainCollectionOptions>().Configure<IOptions<ConnectionOptions>>((collection, connections) =>
        {
            collection.ClassSpecificCollectionAge[typeof(ConnectionGrain).FullName!] = connections.Value.IdleActivationAge;
            collection.ClassSpecificCollectionAge[typeof(SweepBucketGrain).FullName!] = connections.Value.IdleActivationAge;
        }).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrainCollectionOptions>, IdleActivationAgeValidator>());
    }

    /// <summary>Options both the silo and the API read.</summary>
    public static IServiceCollection AddTetherOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<RoomOptions, RoomOptionsValidator>(configuration.GetSection(RoomOptions.Section));
        services.AddValidatedOptions<LimitOptions, LimitOptionsValidator>(configuration.GetSection(LimitOptions.Section));
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

    /// <summary>
    /// Refuses a connection idle age Orleans would refuse anyway, naming our setting rather than Orleans' grain class.
    /// Checked on Orleans' options because the quantum lives there, and reading them from the connection options'
    /// own validation would make each wait on the other.
    /// </summary>
    private sealed class IdleActivationAgeValidator : IValidateOptions<GrainCollectionOptions>
    {
        public ValidateOptionsResult Validate(string? name, GrainCollectionOptions options) =>
            options.ClassSpecificCollectionAge.TryGetValue(typeof(ConnectionGrain).FullName!, out var age) && age <= options.CollectionQuantum
                ? ValidateOptionsResult.Fail("Connections__IdleActivationAge must be longer than Orleans__GrainCollection__CollectionQuantum (default 1 minute).")
                : ValidateOptionsResult.Success;
    }

    /// <summary>
    /// Refuses a sweep interval Orleans would refuse as the period of each sweep bucket's reminder, which it would only
    /// do at the first <c>/connect</c> of each minute, after the connection was stored.
    /// </summary>
    private sealed class SweepIntervalValidator(IOptions<ReminderOptions> reminders) : IValidateOptions<ConnectionOptions>
    {
        public ValidateOptionsResult Validate(string? name, ConnectionOptions options)
        {
            var minimum = reminders.Value.MinimumReminderPeriod;
            return options.SweepInterval < minimum
                ? ValidateOptionsResult.Fail(
                    $"Connections__SweepInterval ({options.SweepInterval:c}) must be at least Orleans' minimum reminder period ({minimum:c}): " +
                    "each sweep bucket is driven by a reminder with that period.")
                : ValidateOptionsResult.Success;
        }
    }
}

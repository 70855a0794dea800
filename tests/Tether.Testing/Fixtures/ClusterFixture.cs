using Orleans.Runtime.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Tether.Contracts;
using Tether.Delivery;
using Tether.Hosting;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>An in-process Orleans test cluster whose silos post to the emulated Management API.</summary>
public class ClusterFixture : IAsyncLifetime
{
    private readonly TimeSpan _connectGracePeriod;

    /// <summary>Most tests want a 410 acted on at once, even for a connection accepted a moment ago.</summary>
    public ClusterFixture() : this(TimeSpan.Zero)
    {
    }

    protected ClusterFixture(TimeSpan connectGracePeriod) => _connectGracePeriod = connectGracePeriod;

    /// <summary>Silos the cluster starts with.</summary>
    protected virtual int SiloCount => 2;

    /// <summary>What the emulated Management API sees: a derived fixture may observe the calls.</summary>
    protected virtual IEmulatedConnections Emulate(InMemoryConnections connections) => connections;

    /// <summary>Settings a derived fixture adds or overrides.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [];

    public InMemoryConnections Connections { get; } = new();
    public ManagementApiEmulatorHost Gateway { get; private set; } = null!;
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IGrainFactory Grains => Cluster.Client;

    /// <summary>Runs last in each silo's configuration: a derived fixture may replace services.</summary>
    protected virtual void ConfigureSilo(ISiloBuilder silo)
    {
    }

    /// <summary>Runs before the settings are read: a derived fixture may start what they point at.</summary>
    protected virtual Task BeforeStartAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        await BeforeStartAsync();
        Gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), Emulate(Connections));
        var settings = new Dictionary<string, string?>
        {
            ["ManagementApi:Endpoint"] = Gateway.ConnectionUrl.ToString(),
            ["ManagementApi:AccessKeyId"] = TestCredentials.AccessKeyId,
            ["ManagementApi:SecretAccessKey"] = TestCredentials.SecretAccessKey,
            ["ManagementApi:RetryBaseDelay"] = "00:00:00.005",
            ["ManagementApi:RetryMaxDelay"] = "00:00:00.100",
            ["Rooms:Default"] = "lobby",
            ["Rooms:PresenceMaxMembers"] = "5",
            // Low limits, so that every test with more than a handful of members runs through sharded rooms and splits.
            ["Rooms:ShardThreshold"] = "8",
            ["Rooms:InitialShards"] = "4",
            ["Rooms:ShardCapacity"] = "16",
            ["Delivery:MaxConcurrency"] = "32",
            // Batch tests need a new batch=1 connection known to the dispatchers within moments.
            ["Delivery:BatchRegistryRefresh"] = "00:00:00.200",
            ["Connections:ConnectGracePeriod"] = _connectGracePeriod.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in ExtraSettings) settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        var builder = new InProcessTestClusterBuilder(initialSilosCount: (short)SiloCount);
        // One store for every silo, as the memory grain storage is one for the cluster: a room reactivated on another
        // silo finds its members.
        var memberSets = new InMemoryMemberSets();
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddTetherMemoryStorage();
            silo.Services.AddSingleton<IMemberSets>(memberSets);
            silo.UseInMemoryReminderService();
            // Sweep tests tick every second; Orleans' default floor for a reminder period is a minute.
            silo.Services.Configure<Orleans.Hosting.ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            silo.AddTether(configuration, embedded: false);
            ConfigureSilo(silo);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public virtual async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Gateway.DisposeAsync();
    }

    /// <summary>
    /// Waits until no room holds presence notices for its window (they then reach the dispatchers), and then until
    /// every silo's dispatcher has nothing queued or in flight.
    /// </summary>
    public async Task DrainAsync()
    {
        await Task.WhenAll(Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<Grains.PresenceBacklog>().WhenIdleAsync()))
            .WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<DeliveryDispatcher>().WhenIdleAsync()))
            .WaitAsync(TimeSpan.FromSeconds(30));
    }
}

/// <summary>
/// A cluster that keeps connections accepted less than three seconds ago when they answer 410. It records when the
/// Management API looked each id up.
/// </summary>
public sealed class GraceClusterFixture : ClusterFixture
{
    public GraceClusterFixture() : base(TimeSpan.FromSeconds(3))
    {
    }

    public ObservedConnections Observed { get; private set; } = null!;

    protected override IEmulatedConnections Emulate(InMemoryConnections connections) => Observed = new ObservedConnections(connections);
}

/// <summary>A cluster whose connections check with API Gateway every second whether they still exist.</summary>
public sealed class SweepClusterFixture : ClusterFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Connections:SweepInterval", "00:00:01"),
        new("Connections:SweepChecksPerSecond", "50"),
    ];
}

/// <summary>Three silos, and rooms that shard into 8 at once: the smallest cluster where shard placement is not a coin toss.</summary>
public sealed class ThreeSiloClusterFixture : ClusterFixture
{
    protected override int SiloCount => 3;

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [new("Rooms:InitialShards", "8")];
}

/// <summary>
/// A cluster for the sweep index: buckets check every second at most two connections per second per silo, and idle
/// connection grains are collected after three seconds. It records when the Management API was asked about each id.
/// </summary>
public sealed class SweepIndexClusterFixture : ClusterFixture
{
    public const int ChecksPerSecond = 2;

    public ObservedConnections Observed { get; private set; } = null!;

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Connections:SweepInterval", "00:00:01"),
        new("Connections:SweepChecksPerSecond", ChecksPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Connections:IdleActivationAge", "00:00:03"),
        new("Orleans:GrainCollection:CollectionQuantum", "00:00:01"),
    ];

    protected override IEmulatedConnections Emulate(InMemoryConnections connections) => Observed = new ObservedConnections(connections);
}

/// <summary>Emulated connections that note when the Management API looked each id up (every GET, POST and DELETE does).</summary>
public sealed class ObservedConnections(InMemoryConnections inner) : IEmulatedConnections
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Id, long Timestamp)> _lookups = new();
    private readonly ChangeSignal _signal = new();

    /// <summary>When each of <paramref name="ids"/> was looked up, in order.</summary>
    public IReadOnlyList<long> LookupsOf(IReadOnlySet<string> ids) => [.. _lookups.Where(l => ids.Contains(l.Id)).Select(l => l.Timestamp)];

    /// <summary>Completes once <paramref name="connectionId"/> has been looked up after <paramref name="timestamp"/>.</summary>
    public Task LookedUpAfterAsync(string connectionId, long timestamp, TimeSpan timeout) =>
        _signal.WaitUntilAsync(() => _lookups.Any(l => l.Id == connectionId && l.Timestamp > timestamp), timeout);

    public EmulatedConnectionState StateOf(string connectionId)
    {
        _lookups.Enqueue((connectionId, System.Diagnostics.Stopwatch.GetTimestamp()));
        _signal.Notify();
        return inner.StateOf(connectionId);
    }

    public EmulatedConnectionInfo? InfoOf(string connectionId) => inner.InfoOf(connectionId);

    public ValueTask<bool> SendAsync(string connectionId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        inner.SendAsync(connectionId, payload, cancellationToken);

    public ValueTask<bool> CloseAsync(string connectionId) => inner.CloseAsync(connectionId);
}

/// <summary>
/// One silo whose Management API client gives up fast: one retry, and a breaker that opens on two failures within a
/// second and tries again after half a second. Posts wait for a failing Management API at most three seconds.
/// </summary>
public sealed class OutageClusterFixture : ClusterFixture
{
    public static readonly TimeSpan MaxOutageDelay = TimeSpan.FromSeconds(3);

    protected override int SiloCount => 1;

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("ManagementApi:MaxRetryAttempts", "1"),
        new("ManagementApi:BreakerMinimumThroughput", "2"),
        new("ManagementApi:BreakerSamplingDuration", "00:00:01"),
        new("ManagementApi:BreakerBreakDuration", "00:00:00.500"),
        new("Delivery:MaxOutageDelay", MaxOutageDelay.ToString("c", System.Globalization.CultureInfo.InvariantCulture)),
    ];
}

/// <summary>Two silos sharing a budget of 1,000 posts per second; tests add and stop a third.</summary>
public sealed class BudgetClusterFixture : ClusterFixture
{
    public const int Budget = 1_000;

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
        [new("Delivery:MaxPostsPerSecond", Budget.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}

/// <summary>A cluster whose grain storage can fail as Redis does in an outage (see <see cref="OutageStorage"/>).</summary>
public sealed class StorageOutageClusterFixture : ClusterFixture
{
    public OutageStorage Storage { get; } = new();

    protected override void ConfigureSilo(ISiloBuilder silo) =>
        silo.Services.AddGrainStorage(TetherStorage.Name, (services, _) => Storage.For(services.GetRequiredService<Orleans.Serialization.Serializer>()));
}

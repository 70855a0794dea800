using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Tether.Testing;

/// <summary>
/// The cluster shape as real processes on loopback, for the reliability tests: Redis, three <c>src/Silo</c>, one
/// <c>src/Api</c> and the local gateway as its own process (<c>src/LocalGateway.Host</c>) in front of it, which
/// also serves the Management API the silos post to. The test process holds an Orleans client to find where grains
/// are. A test may kill a silo (<see cref="KillAsync"/>) or restart the gateway with a shorter maximum lifetime;
/// <see cref="ThreeSilosAsync"/> tops the cluster up again.
/// </summary>
public sealed class ResumeClusterFixture : IAsyncLifetime
{
    public const string ApiKey = "resume-api-key-0123456789";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private readonly string _clusterId = "resume-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<NodeProcess> _silos = [];
    private readonly Dictionary<NodeProcess, int> _siloPorts = [];
    private int _siloNames;
    private int _gatewayPort;
    private Uri _apiBase = null!;
    private IHost _client = null!;
    private NodeProcess? _gateway;
    private TimeSpan? _gatewayLifetime;

    public RedisServer Redis { get; private set; } = null!;

    public NodeProcess Api { get; private set; } = null!;

    /// <summary>The admin API (<c>/api</c>) with its key.</summary>
    public HttpClient Admin { get; private set; } = null!;

    /// <summary>Where clients connect: the gateway process's WebSocket stage.</summary>
    public Uri WebSocketUrl => new($"ws://127.0.0.1:{_gatewayPort}/local");

    public IGrainFactory Grains => _client.Services.GetRequiredService<IGrainFactory>();

    public IReadOnlyList<NodeProcess> Silos => _silos;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync(reportAs: nameof(ResumeClusterFixture));
        _gatewayPort = FreePort.Next();
        for (var i = 0; i < 3; i++) StartSilo();
        _apiBase = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        Api = NodeProcess.StartHost("api", "Api", "Tether.Api", new Dictionary<string, string>(Common())
        {
            ["ASPNETCORE_URLS"] = _apiBase.ToString(),
            // Production refuses to start without an integration secret; loopback is a private network path.
            ["Integration__PrivateNetwork"] = "true",
            ["Admin__ApiKeys__0"] = ApiKey,
        }, baseAddress: _apiBase);
        Admin = new HttpClient { BaseAddress = _apiBase, Timeout = TimeSpan.FromSeconds(60) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

        _client = ClusterClients.Build(_clusterId, Redis.ConnectionString);
        await Eventually.HoldsAsync(() => _client.StartAsync(), StartTimeout, "the test's Orleans client connects");
        await Api.ReadyAsync("/health/ready", StartTimeout);
        await UseGatewayAsync(maxLifetime: null);
        await ThreeSilosAsync();
    }

    private Dictionary<string, string> Common() => new()
    {
        ["ConnectionStrings__redis"] = Redis.ConnectionString,
        ["Orleans__ClusterId"] = _clusterId,
        ["Orleans__ServiceId"] = _clusterId,
        ["ManagementApi__Endpoint"] = $"http://127.0.0.1:{_gatewayPort}/local",
        ["ManagementApi__AccessKeyId"] = TestCredentials.AccessKeyId,
        ["ManagementApi__SecretAccessKey"] = TestCredentials.SecretAccessKey,
        ["ManagementApi__Region"] = "us-east-1",
        // The test clients send as fast as they get answers; the per-connection rate limit is not under test.
        ["Limits__MessagesPerSecond"] = "10000",
        ["Limits__MessageBurst"] = "10000",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
    };

    private void StartSilo()
    {
        var siloPort = FreePort.Next();
        var silo = NodeProcess.StartHost($"silo{_siloNames++}", "Silo", "Tether.Silo", new Dictionary<string, string>(Common())
        {
            ["Orleans__Endpoints__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["Orleans__Endpoints__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Orleans__Endpoints__AdvertisedIPAddress"] = "127.0.0.1",
            ["Orleans__Endpoints__ListenAddress"] = "127.0.0.1",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort.Next()}",
            // Notice a dead silo in a few seconds (production keeps Orleans' more patient defaults).
            ["Orleans__Membership__ProbeTimeout"] = "00:00:01",
            ["Orleans__Membership__NumMissedProbesLimit"] = "2",
            ["Connections__ConnectGracePeriod"] = "00:00:00",
        });
        _silos.Add(silo);
        _siloPorts[silo] = siloPort;
    }

    /// <summary>Starts silos until three are active (after a test killed one).</summary>
    public async Task ThreeSilosAsync()
    {
        while (_silos.Count < 3) StartSilo();
        await Eventually.HoldsAsync(async () =>
        {
            var active = await Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            Assert.Equal(3, active.Count);
        }, StartTimeout, "three silos are active");
    }

    /// <summary>
    /// Runs the gateway process with the given maximum connection lifetime (null: API Gateway's two hours), on the
    /// same port, restarting it when the setting changes. Restarting closes every client connection.
    /// </summary>
    public async Task UseGatewayAsync(TimeSpan? maxLifetime)
    {
        if (_gateway is not null && _gatewayLifetime == maxLifetime) return;
        if (_gateway is not null) await _gateway.DisposeAsync();
        var environment = new Dictionary<string, string>
        {
            ["LocalGateway__BackendUrl"] = _apiBase.ToString().TrimEnd('/'),
            ["LocalGateway__Port"] = _gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["LocalGateway__ListenAddress"] = "127.0.0.1",
            ["LocalGateway__AccessKeyId"] = TestCredentials.AccessKeyId,
            ["LocalGateway__SecretAccessKey"] = TestCredentials.SecretAccessKey,
            ["LocalGateway__Region"] = "us-east-1",
            ["LocalGateway__LogLevel"] = "Warning",
        };
        if (maxLifetime is { } lifetime) environment["LocalGateway__MaxLifetime"] = lifetime.ToString("c", CultureInfo.InvariantCulture);
        _gateway = NodeProcess.StartHost("gateway", "LocalGateway.Host", "Tether.LocalGateway.Host", environment,
            baseAddress: new Uri($"http://127.0.0.1:{_gatewayPort}"));
        _gatewayLifetime = maxLifetime;
        // A plain GET of the stage answers 426 (upgrade required) once it listens.
        await _gateway.ReadyAsync("/local", StartTimeout);
    }

    /// <summary>The silo process that hosts the grain (activating it if it is not active).</summary>
    public async Task<NodeProcess> SiloHostingAsync<TGrain>(TGrain grain, Func<TGrain, Task> activate) where TGrain : IAddressable
    {
        var management = Grains.GetGrain<IManagementGrain>(0);
        var address = await management.GetActivationAddress(grain);
        if (address is null)
        {
            await activate(grain);
            address = await management.GetActivationAddress(grain);
        }
        return _siloPorts.Single(p => p.Value == address!.Endpoint.Port && _silos.Contains(p.Key)).Key;
    }

    /// <summary><c>kill -9</c> of a silo; returns once the process has exited and membership has declared it dead.</summary>
    public async Task KillAsync(NodeProcess silo)
    {
        silo.Kill();
        await silo.WaitForExitAsync(TimeSpan.FromSeconds(30));
        _silos.Remove(silo);
        await Eventually.HoldsAsync(async () => Assert.DoesNotContain(
            (await Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Keys, s => s.Endpoint.Port == _siloPorts[silo]),
            StartTimeout, "membership declares the killed silo dead");
    }

    /// <summary>The last lines of every process, for a failing test's output.</summary>
    public string Output() => string.Join('\n', _silos.Append(Api).Concat(_gateway is null ? [] : [_gateway])
        .Select(p => $"--- {p.Name} (last lines)\n{p.Output}"));

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }
        if (_gateway is not null) await _gateway.DisposeAsync();
        if (Api is not null) await Api.DisposeAsync();
        foreach (var silo in _silos) await silo.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
    }
}

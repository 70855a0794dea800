using System.Globalization;
using Microsoft.Extensions.Hosting;

namespace Tether.Testing;

/// <summary>
/// The cluster shape as real processes for system tests: silos and API nodes (our <c>src/Silo</c> and <c>src/Api</c>
/// hosts) on one Redis, posting to one Management API endpoint with the test credentials. The environment they all
/// share is built here once; a test adds what differs per node. Disposing stops the test's client and every process
/// started through it.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly Dictionary<string, string> _shared;
    private readonly List<NodeProcess> _nodes = [];
    private readonly Dictionary<NodeProcess, int> _siloPorts = [];
    private IHost? _client;

    /// <param name="name">Prefix of the cluster id (a fresh suffix keeps parallel runs apart on a shared Redis).</param>
    /// <param name="redis">The connection string every process uses (a Redis, or an outage proxy in front of it).</param>
    /// <param name="managementApi">Where silos post (the emulated Management API, or a sink).</param>
    /// <param name="shared">Settings every node gets besides the defaults (they override them).</param>
    public ProcessCluster(string name, string redis, Uri managementApi, IReadOnlyDictionary<string, string>? shared = null)
    {
        ArgumentNullException.ThrowIfNull(managementApi);
        ClusterId = name + "-" + Guid.NewGuid().ToString("N")[..8];
        Redis = redis;
        _shared = new Dictionary<string, string>
        {
            ["ConnectionStrings__redis"] = redis,
            ["Orleans__ClusterId"] = ClusterId,
            ["Orleans__ServiceId"] = ClusterId,
            ["ManagementApi__Endpoint"] = managementApi.ToString(),
            ["ManagementApi__AccessKeyId"] = TestCredentials.AccessKeyId,
            ["ManagementApi__SecretAccessKey"] = TestCredentials.SecretAccessKey,
            ["ManagementApi__Region"] = "us-east-1",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in shared ?? new Dictionary<string, string>()) _shared[key] = value;
    }

    public string ClusterId { get; }

    public string Redis { get; }

    /// <summary>The silo processes started, in order (killed ones included).</summary>
    public IReadOnlyList<NodeProcess> Silos => [.. _siloPorts.Keys];

    /// <summary>Every process started, in order.</summary>
    public IReadOnlyList<NodeProcess> Nodes => _nodes;

    /// <summary>The test's own Orleans client (see <see cref="StartClientAsync"/>).</summary>
    public IHost Client => _client ?? throw new InvalidOperationException("StartClientAsync first.");

    /// <summary>
    /// Starts a silo on fresh loopback ports; its HTTP endpoint (health, metrics) is its <see cref="NodeProcess.BaseAddress"/>.
    /// </summary>
    public NodeProcess StartSilo(string name, IReadOnlyDictionary<string, string>? settings = null)
    {
        var siloPort = FreePort.Next();
        var http = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var silo = NodeProcess.StartHost(name, "Silo", "Tether.Silo", With(settings, new Dictionary<string, string>
        {
            ["Orleans__Endpoints__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["Orleans__Endpoints__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Orleans__Endpoints__AdvertisedIPAddress"] = "127.0.0.1",
            ["Orleans__Endpoints__ListenAddress"] = "127.0.0.1",
            ["ASPNETCORE_URLS"] = http.ToString(),
        }), baseAddress: http);
        _siloPorts[silo] = siloPort;
        _nodes.Add(silo);
        return silo;
    }

    /// <summary>The Orleans silo port <paramref name="silo"/> listens on (how membership and activation addresses name it).</summary>
    public int SiloPort(NodeProcess silo) => _siloPorts[silo];

    /// <summary>
    /// Starts an API node on a fresh loopback port (its <see cref="NodeProcess.BaseAddress"/>). Loopback counts as the
    /// private network path Production requires without an integration secret.
    /// </summary>
    public NodeProcess StartApi(string name = "api", IReadOnlyDictionary<string, string>? settings = null)
    {
        var http = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var api = NodeProcess.StartHost(name, "Api", "Tether.Api", With(settings, new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = http.ToString(),
            ["Integration__PrivateNetwork"] = "true",
        }), baseAddress: http);
        _nodes.Add(api);
        return api;
    }

    /// <summary>Starts the test's own Orleans client, retrying while the silos are still starting.</summary>
    public async Task<IHost> StartClientAsync(TimeSpan patience)
    {
        _client ??= ClusterClients.Build(ClusterId, Redis);
        await Eventually.HoldsAsync(() => _client.StartAsync(), patience, "the test's Orleans client connects");
        return _client;
    }

    /// <summary>Every process's last output lines, for a failing test's message.</summary>
    public string Output() => string.Join('\n', _nodes.Select(n => $"--- {n.Name} (last lines)\n{n.Output}"));

    /// <summary>
    /// Runs a test's body; when it fails, writes every process's last output lines. Either way writes the figures it
    /// measured, and keeps them for CI's log under <paramref name="figuresName"/> when one is given.
    /// </summary>
    public async Task RunReportingAsync(Func<Task> body, Action<string> writeLine, IEnumerable<string> figures, string? figuresName = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(writeLine);
        try
        {
            await body();
        }
        catch
        {
            writeLine(Output());
            throw;
        }
        finally
        {
            var text = string.Join(Environment.NewLine, figures);
            writeLine(text);
            if (figuresName is not null) Figures.Write(figuresName, text);
        }
    }

    /// <summary>The shared environment, then the node's own (<paramref name="node"/>), then the test's (<paramref name="settings"/>).</summary>
    private Dictionary<string, string> With(IReadOnlyDictionary<string, string>? settings, Dictionary<string, string> node)
    {
        var all = new Dictionary<string, string>(_shared);
        foreach (var (key, value) in node) all[key] = value;
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) all[key] = value;
        return all;
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }
        foreach (var node in Enumerable.Reverse(_nodes)) await node.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tether.Contracts;
using Tether.Hosting;
using Tether.LocalGateway;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// Real processes (Redis, two silos, the API): calls the API has in flight to a silo that is then killed (<c>kill -9</c>)
/// answer 503 with Retry-After within about 2 s of membership declaring the silo dead, not at the 10 s response
/// timeout. The silo is frozen (SIGSTOP) first, so the calls are certainly in flight to it, then killed.
/// </summary>
[Trait("Category", "Redis")]
public sealed class StrandedCallTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const string ApiKey = "stranded-calls-test-key-0001";
    private const int RoomCount = 24;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Promise = TimeSpan.FromSeconds(2);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private RedisServer _redis = null!;
    private ManagementApiEmulatorHost _gateway = null!;
    private ProcessCluster _cluster = null!;
    private NodeProcess _api = null!;
    private IHost _client = null!;
    private Uri _apiBase = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(StrandedCallTests));
        _gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), new InMemoryConnections());
        _cluster = new ProcessCluster("strand", _redis.ConnectionString, _gateway.ConnectionUrl);
        for (var i = 0; i < 2; i++) StartSilo($"silo{i}");
        _api = _cluster.StartApi(settings: new Dictionary<string, string>
        {
            ["Admin__ApiKeys__0"] = ApiKey,
            // Well past the promise: an answer within it comes from the death, not from the timeout.
            ["Orleans__Messaging__ResponseTimeout"] = "00:00:25",
        });
        _apiBase = _api.BaseAddress;
        _http.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
        _client = await _cluster.StartClientAsync(Patience);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _gateway.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public void Dispose() => _http.Dispose();

    private void StartSilo(string name) => _cluster.StartSilo(name, new Dictionary<string, string>
    {
        ["Orleans__Membership__ProbeTimeout"] = "00:00:01",
        ["Orleans__Membership__NumMissedProbesLimit"] = "2",
    });

    [Fact]
    public async Task Calls_in_flight_to_a_killed_silo_answer_503_soon_after_it_is_declared_dead()
    {
        try
        {
            await RunAsync();
        }
        catch
        {
            output.WriteLine(_cluster.Output());
            throw;
        }
    }

    private async Task RunAsync()
    {
        var grains = _client.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);
        await RetryAsync(async () => Assert.Equal(2, (await management.GetHosts(onlyActive: true)).Count), "both silos are active");
        var rooms = Enumerable.Range(0, RoomCount).Select(i => $"stranded-{i}").ToList();
        foreach (var room in rooms) await RetryAsync(async () => (await _http.GetAsync(RoomUri(room))).EnsureSuccessStatusCode(), "the API serves rooms");

        // The victim: the silo hosting the most of these rooms.
        var hosts = new Dictionary<string, int>();
        foreach (var room in rooms) hosts[room] = (await management.GetActivationAddress(grains.GetGrain<IRoomGrain>(room)))!.Endpoint.Port;
        var victimPort = hosts.Values.GroupBy(p => p).MaxBy(g => g.Count())!.Key;
        var victim = _cluster.Silos.Single(s => _cluster.SiloPort(s) == victimPort);
        var stranded = rooms.Where(r => hosts[r] == victimPort).ToList();
        var table = _client.Services.GetRequiredService<IMembershipTable>();

        // Freeze it, so the calls below stay in flight to it; kill it once the cluster suspects it (the calls are out by then).
        Signal("STOP", victim.Id);
        var clock = Stopwatch.StartNew();
        var calls = stranded.Select(room => CallAsync(room, clock)).ToList();
        await RetryAsync(async () => Assert.NotEmpty(Entry(await table.ReadAllAsync(), victimPort).SuspectTimes ?? []), "the frozen silo is suspected");
        victim.Kill();
        var killedAt = clock.Elapsed;
        await RetryAsync(async () => Assert.Equal(SiloStatus.Dead, Entry(await table.ReadAllAsync(), victimPort).Status), "the killed silo is declared dead");
        var declaredDeadAt = clock.Elapsed;

        var answers = await Task.WhenAll(calls);
        output.WriteLine($"{stranded.Count} calls in flight to {victim.Name}: killed after {killedAt.TotalMilliseconds:F0} ms, declared dead after "
            + $"{declaredDeadAt.TotalMilliseconds:F0} ms; answered after {string.Join(", ", answers.Select(a => $"{a.At.TotalMilliseconds:F0} ms ({(int)a.Status} {a.Code})"))}");
        Assert.NotEmpty(answers);
        Assert.All(answers, a =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, a.Status);
            Assert.Equal("cluster_unavailable", a.Code);
            Assert.True(a.RetryAfter, "503 without Retry-After");
            Assert.True(a.At - declaredDeadAt < Promise, $"answered {(a.At - declaredDeadAt).TotalMilliseconds:F0} ms after the death was declared");
        });

        // The rooms come back on the silo left.
        foreach (var room in stranded) await RetryAsync(async () => (await _http.GetAsync(RoomUri(room))).EnsureSuccessStatusCode(), "the room reactivates");
    }

    private Uri RoomUri(string room) => new(_apiBase, $"/api/rooms/{room}");

    private static MembershipEntry Entry(MembershipTableData data, int port) => data.Members.Select(m => m.Item1).Single(e => e.SiloAddress.Endpoint.Port == port);

    private async Task<Answer> CallAsync(string room, Stopwatch clock)
    {
        using var response = await _http.GetAsync(RoomUri(room));
        var at = clock.Elapsed;
        var body = await response.Content.ReadAsStringAsync();
        var code = response.IsSuccessStatusCode ? "ok" : JsonDocument.Parse(body).RootElement.GetProperty("code").GetString();
        return new Answer(response.StatusCode, code, response.Headers.RetryAfter is not null, at);
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private sealed record Answer(HttpStatusCode Status, string? Code, bool RetryAfter, TimeSpan At);

    private static async Task RetryAsync(Func<Task> action, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception e) when (clock.Elapsed < Patience && e is not OutOfMemoryException)
            {
                await Task.Delay(100);
            }
            catch (Exception e)
            {
                throw new TimeoutException($"Gave up waiting for: {what}", e);
            }
        }
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tether.Contracts;
using Tether.LocalGateway;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// Real processes (Redis behind an outage proxy, a silo, the API): connections join, leave and disconnect, and new
/// ones connect, while Redis is frozen (as with SIGSTOP) and then while it is down (as after kill -9, restarted with
/// its data). Every call answers 200 or 503, never 500; afterwards every connection's rooms are exactly the rooms that
/// list it, no disconnected connection (nor one whose connect answered 503) is left stored as connected, and new
/// connections are accepted at once (issue 18 point 2).
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisOutageTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const int ConnectionCount = 24;
    private static readonly string[] Rooms = ["lobby", "outage-a", "outage-b"];
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private readonly InMemoryConnections _connections = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly List<string> _figures = [];
    private RedisServer _redis = null!;
    private RedisOutageProxy _proxy = null!;
    private ManagementApiEmulatorHost _gateway = null!;
    private ProcessCluster _cluster = null!;
    private IHost _client = null!;
    private Uri _apiBase = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(RedisOutageTests));
        _proxy = RedisOutageProxy.For(_redis);
        _gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), _connections);
        _cluster = new ProcessCluster("outage", _proxy.ConnectionString, _gateway.ConnectionUrl, new Dictionary<string, string>
        {
            ["Rooms__Default"] = "lobby",
        });
        _cluster.StartSilo("silo");
        _apiBase = _cluster.StartApi().BaseAddress;
        _client = await _cluster.StartClientAsync(Patience);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _gateway.DisposeAsync();
        await _proxy.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public void Dispose() => _http.Dispose();

    private IGrainFactory Grains => _client.Services.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task Memberships_agree_and_no_ghost_is_left_after_Redis_freezes_and_after_it_crashes()
    {
        await _cluster.RunReportingAsync(RunAsync, output.WriteLine, _figures);
    }

    private async Task RunAsync()
    {
        var ids = Enumerable.Range(0, ConnectionCount).Select(i => $"outage{i:D3}AbC=").ToList();
        await Eventually.HoldsAsync(async () => Assert.Equal(HttpStatusCode.OK, await ConnectAsync("warmup000AbC=")), Patience, "the API accepts connections");
        foreach (var id in ids)
        {
            Assert.Equal(HttpStatusCode.OK, await ConnectAsync(id));
            Assert.Equal(HttpStatusCode.OK, await EventAsync(id, "joinroom", "outage-a"));
        }
        var gone = new HashSet<string>(StringComparer.Ordinal);

        await OutageAsync("frozen (SIGSTOP)", _proxy.Freeze, TimeSpan.FromSeconds(12), ids, gone, round: 0);
        await OutageAsync("down (kill -9, restarted with its data)", _proxy.Crash, TimeSpan.FromSeconds(6), ids, gone, round: 1);
    }

    /// <summary>
    /// Starts the outage, sends a third of the live connections a join, a third a leave, disconnects the rest and
    /// connects new ones, ends the outage after <paramref name="length"/>, then checks that everything agrees.
    /// </summary>
    private async Task OutageAsync(string what, Action start, TimeSpan length, List<string> ids, HashSet<string> gone, int round)
    {
        var live = ids.Where(id => !gone.Contains(id)).ToList();
        var clock = Stopwatch.StartNew();
        start();
        var calls = live.Select((id, i) => (i % 3) switch
        {
            0 => CallAsync($"joinroom outage-b by {id}", "/handle-event", new { connection_id = id, body = new { action = "joinroom", room = "outage-b" } }, clock),
            1 => i % 2 == 0
                ? CallAsync($"leaveroom outage-a by {id}", "/handle-event", new { connection_id = id, body = new { action = "leaveroom", room = "outage-a" } }, clock)
                : CallAsync($"joinroom outage-b by {id}", "/handle-event", new { connection_id = id, body = new { action = "joinroom", room = "outage-b" } }, clock),
            _ => CallAsync($"disconnect of {id}", "/disconnect", new { connection_id = id }, clock),
        }).ToList();
        // API Gateway keeps sending $connect too: new ids, whose sweep buckets may need their reminder registered.
        var arriving = Enumerable.Range(0, 4).Select(i => $"during{round}{i:D2}AbC=").ToList();
        foreach (var id in arriving)
        {
            _connections.Add(id);
            calls.Add(CallAsync($"connect of {id}", "/connect", new { connection_id = id }, clock));
        }
        await Task.Delay(length);
        _proxy.Recover();
        var answers = await Task.WhenAll(calls);
        var recoveredAt = clock.Elapsed;
        _figures.Add($"Redis {what} for {length.TotalSeconds:0} s: {calls.Count} calls answered "
            + string.Join(", ", answers.GroupBy(a => (int)a.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} × {g.Key}")));
        // The request was fine and the cluster was not: 503 (or the work done), never 500.
        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable,
            $"{a.Call} while Redis was {what} answered {(int)a.Status} after {a.At.TotalMilliseconds:0} ms: {a.Body}"));

        // Disconnects the API took are carried out, answered or not; every other connection stays.
        gone.Clear();
        gone.UnionWith(live.Where((_, i) => i % 3 == 2));
        gone.UnionWith(ids.Except(live));
        // A connect answered 503 is undone; one answered 200 stays.
        ids.AddRange(arriving);
        gone.UnionWith(arriving.Where((_, i) => answers[live.Count + i].Status != HttpStatusCode.OK));
        await Eventually.HoldsAsync(() => AgreeAsync(ids, gone), Patience, $"memberships agree after Redis was {what}");
        _figures.Add($"  memberships agreed {(clock.Elapsed - recoveredAt).TotalSeconds:0.0} s after Redis came back; "
            + $"{ids.Count - gone.Count} connections stored, {gone.Count} gone");

        // New connections are accepted at once: no version conflict or stale state is left behind.
        var fresh = Enumerable.Range(0, 8).Select(i => $"fresh{round}{i:D2}AbCd=").ToList();
        var accepted = await Task.WhenAll(fresh.Select(ConnectAsync));
        Assert.All(accepted, status => Assert.Equal(HttpStatusCode.OK, status));
        foreach (var id in fresh) Assert.Equal(HttpStatusCode.OK, await DisconnectAsync(id));
    }

    /// <summary>Every stored connection's rooms are exactly the rooms listing it; a gone one is stored and listed nowhere.</summary>
    private async Task AgreeAsync(List<string> ids, HashSet<string> gone)
    {
        var members = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var room in Rooms) members[room] = [.. (await Grains.GetGrain<IRoomGrain>(room).GetMembers(null, 1000)).Members];
        foreach (var id in ids)
        {
            var snapshot = await Grains.GetGrain<IConnectionGrain>(id).GetSnapshot();
            var listedBy = Rooms.Where(r => members[r].Contains(id)).Order(StringComparer.Ordinal).ToArray();
            if (gone.Contains(id))
            {
                Assert.True(snapshot is null, $"{id} was disconnected but is still stored as connected");
                Assert.True(listedBy.Length == 0, $"{id} was disconnected but {string.Join(", ", listedBy)} still list it");
            }
            else
            {
                Assert.True(snapshot is not null, $"{id} was not disconnected but is no longer stored");
                Assert.Equal(listedBy, snapshot.Rooms.Order(StringComparer.Ordinal).ToArray());
            }
        }
    }

    private async Task<HttpStatusCode> ConnectAsync(string id)
    {
        _connections.Add(id);
        using var response = await _http.PostAsJsonAsync(new Uri(_apiBase, "/connect"), new { connection_id = id });
        return response.StatusCode;
    }

    /// <summary>One integration call made during the outage, with what it answered and when (for the message of a failure).</summary>
    private sealed record Answer(string Call, HttpStatusCode Status, string Body, TimeSpan At);

    private async Task<Answer> CallAsync(string call, string path, object body, Stopwatch clock)
    {
        using var response = await _http.PostAsJsonAsync(new Uri(_apiBase, path), body);
        return new Answer(call, response.StatusCode, await response.Content.ReadAsStringAsync(), clock.Elapsed);
    }

    private async Task<HttpStatusCode> EventAsync(string id, string action, string room)
    {
        using var response = await _http.PostAsJsonAsync(new Uri(_apiBase, "/handle-event"), new { connection_id = id, body = new { action, room } });
        return response.StatusCode;
    }

    private async Task<HttpStatusCode> DisconnectAsync(string id)
    {
        using var response = await _http.PostAsJsonAsync(new Uri(_apiBase, "/disconnect"), new { connection_id = id });
        return response.StatusCode;
    }
}

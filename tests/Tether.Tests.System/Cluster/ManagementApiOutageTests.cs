using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// Real processes (Redis, a silo, the API, a Management API sink that goes down and comes back): 3,000 members of one
/// room, broadcasts through the whole outage (issue 18 point 3). Posts queued within <c>Delivery__MaxOutageDelay</c> of
/// the recovery arrive exactly once after it, older ones are dropped and counted, the silo's readiness reports the
/// Management API failing during the outage and healthy after, and its peak RSS stays under a stated bound. The
/// outage lasts <c>TETHER_TEST_MANAGEMENT_API_OUTAGE_SECONDS</c> (default 15; the run was 60), with
/// <c>Delivery__MaxOutageDelay</c> at 80 % of it: broadcasts in its first tenth are dropped before it ends, those in its
/// last tenth still have most of the delay left when it ends.
/// </summary>
[Trait("Category", "Redis")]
public sealed class ManagementApiOutageTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const string ApiKey = "management-api-outage-key-0001";
    private const string OutageVariable = "TETHER_TEST_MANAGEMENT_API_OUTAGE_SECONDS";
    private const int MemberCount = 3000;

    /// <summary>
    /// The silo's stated bound. Measured in a Debug build: 273–279 MB before the outage, a 355 MB peak through 15 s and
    /// through 60 s outages alike (the Release run: 243 MB); room is left for a loaded CI machine.
    /// </summary>
    private const long PeakResidentBound = 512L * 1024 * 1024;

    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly List<string> _figures = [];
    private readonly TimeSpan _outage = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable(OutageVariable), CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? seconds : 15);
    private RedisServer _redis = null!;
    private ManagementApiSink _sink = null!;
    private ProcessCluster _cluster = null!;
    private NodeProcess _silo = null!;
    private NodeProcess _api = null!;

    private TimeSpan MaxOutageDelay => _outage * 0.8;

    private static string Id(int i) => $"mgmt{i:D5}Xy=";

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(ManagementApiOutageTests));
        _sink = await ManagementApiSink.StartAsync();
        _sink.KeepBodies = true;
        _cluster = new ProcessCluster("mgmt", _redis.ConnectionString, _sink.BaseAddress, new Dictionary<string, string>
        {
            ["Rooms__Default"] = "lobby",
            ["Admin__ApiKeys__0"] = ApiKey,
        });
        _silo = _cluster.StartSilo("silo", new Dictionary<string, string>
        {
            ["Delivery__MaxOutageDelay"] = MaxOutageDelay.ToString("c", CultureInfo.InvariantCulture),
            // Every post of the outage waits (none dropped for a full queue): what is dropped is dropped for its age.
            ["Delivery__MaxQueued"] = "200000",
            ["ManagementApi__BreakerBreakDuration"] = "00:00:01",
            ["Telemetry__Prometheus"] = "true",
            ["Connections__ConnectGracePeriod"] = "00:00:00",
        });
        _api = _cluster.StartApi();
        _http.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
        await _cluster.StartClientAsync(Patience);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _sink.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Posts_wait_through_an_outage_within_the_maximum_delay_and_older_ones_are_dropped_and_counted()
    {
        await _cluster.RunReportingAsync(RunAsync, output.WriteLine, _figures, "management-api-outage");
    }

    private async Task RunAsync()
    {
        await Eventually.HoldsAsync(async () => (await _http.GetAsync(new Uri(_silo.BaseAddress, "/health/ready"))).EnsureSuccessStatusCode(), Patience, "the silo is ready");
        await Eventually.HoldsAsync(async () => Assert.Equal(HttpStatusCode.OK, await ConnectAsync(Id(0))), Patience, "the API accepts connections");
        await Parallel.ForEachAsync(Enumerable.Range(1, MemberCount - 1), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, _) => Assert.Equal(HttpStatusCode.OK, await ConnectAsync(Id(i))));

        // Before: one broadcast reaches everybody.
        var before = await BroadcastAsync("before");
        await Eventually.HoldsAsync(() => Task.Run(() => Assert.Equal(MemberCount, Receipts(before.Id).Count)), Patience, "the first broadcast arrives");
        var residentBefore = _silo.ResidentBytes();

        // The endpoint goes down; broadcasts go on through the whole outage.
        var count = Math.Max(10, (int)(_outage.TotalSeconds / 2));
        var clock = Stopwatch.StartNew();
        _sink.Down = true;
        var sent = new List<Broadcast>();
        var failingSeen = false;
        for (var i = 0; i < count; i++)
        {
            // The first goes out as the endpoint goes down: on a loaded machine a broadcast's call took over 0.7 s, and
            // one due at 0.75 s was accepted too late to be sure of missing its deadline.
            var due = _outage * ((double)i / count);
            if (due > clock.Elapsed) await Task.Delay(due - clock.Elapsed);
            var at = clock.Elapsed;
            var broadcast = await BroadcastAsync($"during-{i}");
            sent.Add(broadcast with { SentAt = at, AcceptedAt = clock.Elapsed });
            failingSeen |= await ManagementApiFailingAsync();
        }
        if (clock.Elapsed < _outage) await Task.Delay(_outage - clock.Elapsed);
        if (!failingSeen)
        {
            await Eventually.HoldsAsync(async () => Assert.True(await ManagementApiFailingAsync()), TimeSpan.FromSeconds(10), "readiness reports the Management API failing");
            failingSeen = true;
        }
        var residentDuring = _silo.ResidentBytes();
        _sink.Down = false;
        var recoveredAt = clock.Elapsed;

        // After: readiness recovers; what waited arrives; the rest is counted as dropped.
        await Eventually.HoldsAsync(async () => Assert.False(await ManagementApiFailingAsync()), Patience, "readiness reports the Management API healthy again");
        var healthyAfter = clock.Elapsed - recoveredAt;
        var total = (long)count * MemberCount;
        long dropped = 0;
        long delivered = 0;
        await Eventually.HoldsAsync(async () =>
        {
            dropped = await DroppedAsync();
            var receipts = Receipts();
            delivered = sent.Sum(b => (long)receipts.GetValueOrDefault(b.Id, []).Values.Sum());
            Assert.Equal(total, delivered + dropped);
        }, Patience, "every post of the outage is delivered or dropped and counted");
        var settledAt = clock.Elapsed - recoveredAt;
        var after = await BroadcastAsync("after");
        await Eventually.HoldsAsync(() => Task.Run(() => Assert.Equal(MemberCount, Receipts(after.Id).Count)), Patience, "a broadcast after the outage arrives");
        var peak = _silo.PeakResidentBytes();

        // The last broadcast is due at 0.9 × the outage, and a delay can end a timer tick early: 0.85 takes it.
        var late = sent.Where(b => b.SentAt >= _outage * 0.85).ToList();
        // Queued before it was accepted, so its deadline is at most AcceptedAt + 0.8 × the outage: before the endpoint
        // came back for anything accepted in the outage's first fifth; 0.15 leaves a margin.
        var early = sent.Where(b => b.AcceptedAt <= _outage * 0.15).ToList();
        var all = Receipts();
        Dictionary<string, int> Of(Broadcast b) => all.GetValueOrDefault(b.Id, []);
        Figure($"Management API down {_outage.TotalSeconds:0} s (Delivery__MaxOutageDelay {MaxOutageDelay.TotalSeconds:0.#} s), {MemberCount} members, "
            + $"{count} broadcasts during it ({total} posts): {_sink.RefusedPosts} posts refused (500) while down");
        Figure($"  after recovery: {delivered} delivered, {dropped} dropped and counted (tether_deliveries_dropped_total, outage_timeout); "
            + $"readiness healthy after {healthyAfter.TotalSeconds:0.0} s, all settled after {settledAt.TotalSeconds:0.0} s");
        Figure("  per broadcast (sent at s: members reached): " + string.Join(", ", sent.Select(b => $"{b.SentAt.TotalSeconds:0.0}: {Of(b).Count}")));
        Figure($"  silo RSS: {Mb(residentBefore)} before, {Mb(residentDuring)} at the end of the outage, peak {Mb(peak)} (bound {Mb(PeakResidentBound)})");

        Assert.True(failingSeen, "readiness never reported the Management API failing during the outage");
        Assert.NotEmpty(late);
        Assert.NotEmpty(early);
        foreach (var b in sent)
        {
            var twice = Of(b).Where(r => r.Value != 1).Select(r => r.Key).ToList();
            Assert.True(twice.Count == 0, $"{b.Label}: {twice.Count} members got it more than once");
        }
        foreach (var b in late) Assert.True(Of(b).Count == MemberCount, $"{b.Label}, sent {b.SentAt.TotalSeconds:0.0} s into the outage, reached {Of(b).Count} of {MemberCount}");
        foreach (var b in early) Assert.True(Of(b).Count == 0, $"{b.Label}, accepted {b.AcceptedAt.TotalSeconds:0.0} s into the outage, reached {Of(b).Count} members after waiting past its deadline");
        Assert.True(dropped >= (long)early.Count * MemberCount, $"only {dropped} posts counted as dropped");
        Assert.True(peak < PeakResidentBound, $"the silo's peak RSS was {Mb(peak)}");
    }

    private sealed record Broadcast(string Label, string Id, TimeSpan SentAt = default, TimeSpan AcceptedAt = default);

    private async Task<Broadcast> BroadcastAsync(string label)
    {
        using var response = await _http.PostAsJsonAsync(new Uri(_api.BaseAddress, "/api/rooms/lobby/messages"), new { message = label });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(MemberCount, reply.GetProperty("recipients").GetInt32());
        return new Broadcast(label, reply.GetProperty("id").GetString()!);
    }

    /// <summary>Per member, how many times the message <paramref name="messageId"/> reached it.</summary>
    private Dictionary<string, int> Receipts(string messageId) => Receipts().GetValueOrDefault(messageId, []);

    /// <summary>Per message id, per member, how many times it arrived.</summary>
    private Dictionary<string, Dictionary<string, int>> Receipts()
    {
        var receipts = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        for (var i = 0; i < MemberCount; i++)
        {
            foreach (var body in _sink.Bodies(Id(i)))
            {
                using var document = JsonDocument.Parse(body);
                if (!document.RootElement.TryGetProperty("id", out var element) || element.GetString() is not { } id) continue;
                var perMember = receipts.TryGetValue(id, out var r) ? r : receipts[id] = new(StringComparer.Ordinal);
                perMember[Id(i)] = perMember.GetValueOrDefault(Id(i)) + 1;
            }
        }
        return receipts;
    }

    /// <summary>Whether the silo's readiness reports the Management API check unhealthy.</summary>
    private async Task<bool> ManagementApiFailingAsync()
    {
        using var response = await _http.GetAsync(new Uri(_silo.BaseAddress, "/health/ready"));
        var checks = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        return checks.GetProperty("managementApi").GetProperty("status").GetString() != "Healthy";
    }

    /// <summary>The silo's count of posts dropped after waiting <c>Delivery__MaxOutageDelay</c>, from its Prometheus endpoint.</summary>
    private async Task<long> DroppedAsync()
    {
        var text = await _http.GetStringAsync(new Uri(_silo.BaseAddress, "/metrics"));
        var lines = text.Split('\n').Where(l => l.StartsWith("tether_deliveries_dropped_total{", StringComparison.Ordinal)).ToList();
        return lines.Where(l => l.Contains("reason=\"outage_timeout\"", StringComparison.Ordinal))
            .Sum(l => (long)double.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture));
    }

    private async Task<HttpStatusCode> ConnectAsync(string id)
    {
        using var response = await _http.PostAsJsonAsync(new Uri(_api.BaseAddress, "/connect"), new { connection_id = id });
        return response.StatusCode;
    }

    private void Figure(string line)
    {
        _figures.Add(line);
        output.WriteLine(line);
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):0} MB";
}

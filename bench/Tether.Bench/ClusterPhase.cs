using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.Runtime;
using Tether.Testing;

namespace Tether.Bench;

/// <summary>
/// The production shape on loopback: Redis, <see cref="BenchSettings.ClusterSilos"/> <c>src/Silo</c> processes and
/// one <c>src/Api</c> process as an Orleans client, every silo posting to the benchmark's sink. One room big enough to
/// be sharded gets a broadcast; each silo's own <c>tether_deliveries_total</c> (its Prometheus endpoint, read before
/// and after) says how much of that fan-out it posted. The run fails when a silo posted none of it, or when any
/// recipient did not get exactly one post.
/// </summary>
internal sealed class ClusterPhase(
    BenchSettings settings, string repo, ManagementApiSink sink, Uri connectionUrl, AWSCredentials credentials, Report report,
    IReadOnlyDictionary<string, string>? overrides = null)
{
    private const string Secret = "bench-integration-secret";
    private const string ApiKey = "bench-management-key";
    private const string BigRoom = "cluster-big";
    private const string SmallRoom = "cluster-small";
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private readonly string _clusterId = "bench-" + Guid.NewGuid().ToString("N")[..8];
    // Reads silo metrics, dashboard counters and health: one client for the whole run.
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        await using var redis = await RedisServer.StartAsync();
        var silos = new List<Silo>();
        NodeProcess? api = null;
        try
        {
            // One at a time: on two loaded cores three cold starts together take longer than three in a row.
            for (var i = 0; i < settings.ClusterSilos; i++) silos.Add(await StartSiloAsync($"silo{i}", redis.ConnectionString));
            api = await StartApiAsync(redis.ConnectionString);
            await WaitForActiveSilosAsync(api, silos.Count);
            Report.Line($"cluster: {redis.Description}, {silos.Count} silos and the API up after {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s");
            await MeasureAsync(api, silos, redis.ConnectionString);
        }
        catch
        {
            foreach (var silo in silos) Report.Line($"--- {silo.Name} (last lines)\n{silo.Process.Output}");
            if (api is not null) Report.Line($"--- api (last lines)\n{api.Output}");
            throw;
        }
        finally
        {
            if (api is not null) await api.DisposeAsync();
            foreach (var silo in silos) await silo.Process.DisposeAsync();
        }
    }

    private async Task MeasureAsync(NodeProcess api, List<Silo> silos, string redisConnection)
    {
        using var driver = new IntegrationDriver(api.BaseAddress, Secret);
        // Join cost by room size: each size into a room of its own, smallest first, before the broadcast room.
        foreach (var size in settings.ClusterJoinSizes.Where(s => s != settings.ClusterConnections).Order())
        {
            await RegisterAsync(driver, api, silos, redisConnection, "cluster-joins-" + size.ToString(CultureInfo.InvariantCulture), size);
        }
        var n = settings.ClusterConnections;
        var ids = await RegisterAsync(driver, api, silos, redisConnection, BigRoom, n);
        var small = ConnectionIdMaker.Make(SmallRoom, 2);
        await driver.ConnectAllAsync(small, _ => SmallRoom);

        // A first broadcast activates the shards and warms each silo's delivery path; it is checked, not timed.
        await BroadcastAsync(driver, ids, null);

        // Each timed broadcast alone, so each silo's counter delta is its share of the big room and nothing else.
        var times = new List<double>();
        var before = await DeliveredAsync(silos);
        for (var r = 0; r < settings.Repeats; r++) times.Add((await BroadcastAsync(driver, ids, null)).Seconds);
        var expected = (long)n * settings.Repeats;
        var after = await DeliveredWhenSettledAsync(silos, before, expected);
        var shares = silos.Select((s, i) => after[i] - before[i]).ToArray();

        var median = times.Order().ElementAt(times.Count / 2);
        report.Row($"cluster: broadcast to {n:N0}: time to last delivery", $"{median * 1000:N0} ms",
            $"median of {times.Count}: {string.Join(", ", times.Select(s => (s * 1000).ToString("N0", CultureInfo.InvariantCulture)))} ms");
        report.Row($"cluster: broadcast to {n:N0}: deliveries/s", Report.Number(n / median),
            $"{silos.Count} silos + API + Redis + sink on {Environment.ProcessorCount} cores");

        var placement = await ShardPlacementAsync(silos);
        var even = 1.0 / silos.Count;
        for (var i = 0; i < silos.Count; i++)
        {
            var share = shares[i] / (double)expected;
            var where = placement is null ? "" : $"; {placement.Value.PerSilo[i]} of the room's {placement.Value.Total} shards";
            report.Row($"cluster: {silos[i].Name}'s share of the deliveries", $"{share:P1}",
                $"{shares[i]:N0} posts counted by the silo (tether_deliveries_total, outcome delivered){where}; even would be {even:P1}");
        }
        if (placement is null) report.Row("cluster: shards of the room", "not available", "the dashboard's counters did not list RoomShardGrain");
        report.Row("cluster: largest ÷ smallest silo share", shares.Min() > 0 ? $"{shares.Max() / (double)shares.Min():0.00}" : "∞");

        if (shares.Sum() != expected)
        {
            report.Fail($"cluster: the silos counted {shares.Sum():N0} delivered posts, the sink {expected:N0}");
        }
        foreach (var (silo, share) in silos.Zip(shares))
        {
            if (share == 0) report.Fail($"cluster: {silo.Name} posted none of the big room's deliveries");
        }

        // Fairness across the cluster: a 2-member room's message sent right after the big broadcast.
        var (_, smallSeconds) = await BroadcastAsync(driver, ids, small);
        report.Row($"cluster: 2-member room's message sent right after the {n:N0} broadcast", $"{smallSeconds!.Value * 1000:N0} ms to its last delivery",
            "fairness between rooms across the cluster");
    }

    /// <summary>
    /// Registers <paramref name="n"/> connections through <c>/connect</c>, each joining <paramref name="room"/>, and
    /// reports the rate, the Redis commands and bytes per <c>/connect</c> (Redis's own counters, before and after) and
    /// the machine's load average meanwhile (the machine may be shared), and the CPU time each process spent per
    /// <c>/connect</c>, which depends far less on other load than the rate does.
    /// </summary>
    private async Task<string[]> RegisterAsync(IntegrationDriver driver, NodeProcess api, List<Silo> silos, string redisConnection, string room, int n)
    {
        var ids = ConnectionIdMaker.Make(room, n);
        var commandsBefore = await RedisCommandCounts.ReadAsync(redisConnection);
        var processes = await RegisterCpu.ProcessesAsync(api, silos.Select(s => (s.Name, s.Process.Id)), redisConnection);
        var loadBefore = LoadAverage();
        var orleansBefore = await OrleansCounters.ReadAsync(Http, silos.Select(s => s.BaseAddress), ApiKey);
        var cpuBefore = RegisterCpu.Read(processes);
        var registering = Stopwatch.GetTimestamp();
        await driver.ConnectAllAsync(ids, _ => room);
        var registration = Stopwatch.GetElapsedTime(registering);
        var cpuAfter = RegisterCpu.Read(processes);
        report.Row($"cluster: register {n:N0} connections into one room", $"{Report.Number(n / registration.TotalSeconds)} /s",
            $"{registration.TotalSeconds:0.0} s through the API, {silos.Count} silos, Redis storage; load average {loadBefore} before, {LoadAverage()} after");
        report.Row($"cluster: CPU per /connect into a room of {n:N0}", $"{RegisterCpu.TotalMicroseconds(cpuBefore, cpuAfter, n):N0} µs",
            RegisterCpu.Breakdown(processes, cpuBefore, cpuAfter, n));
        report.Row($"cluster: Orleans' counters per /connect into a room of {n:N0}", "see note",
            OrleansCounters.PerUnit(orleansBefore, await OrleansCounters.ReadAsync(Http, silos.Select(s => s.BaseAddress), ApiKey), n));
        // The sweep index groups its writes within 2 s: let them land before counting.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var commandsAfter = await RedisCommandCounts.ReadAsync(redisConnection);
        var (perConnect, breakdown) = RedisCommandCounts.PerUnit(commandsBefore, commandsAfter, n);
        report.Row($"cluster: Redis commands per /connect into a room of {n:N0}", $"{perConnect:0.00}",
            $"{breakdown}; commands run inside a script (evalsha) count too; background traffic (membership reads) included");
        report.Row($"cluster: bytes sent to Redis per /connect into a room of {n:N0}", $"{RedisCommandCounts.BytesInPerUnit(commandsBefore, commandsAfter, n):N0} B",
            "a join stores one id (SADD), whatever the room's size");
        var members = (await driver.GetJsonAsync($"/api/rooms/{Uri.EscapeDataString(room)}", ApiKey)).GetProperty("members").GetInt32();
        if (members != n)
        {
            report.Fail($"cluster: room {room} has {members} members, expected {n}");
            throw new InvalidOperationException("membership lost");
        }
        return ids;
    }

    /// <summary>The 1-minute load average (Linux), or "n/a".</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    /// <summary>One broadcast to the big room (and, when given, one message to the small room right after it).</summary>
    private async Task<(double Seconds, double? Small)> BroadcastAsync(IntegrationDriver driver, string[] ids, string[]? small)
    {
        var expected = ids.Length + (small?.Length ?? 0);
        sink.Reset(expected);
        var watched = small?.Select(sink.WatchAsync).ToArray();
        var started = Stopwatch.GetTimestamp();
        await driver.PostAsync("/handle-event", new
        {
            connection_id = ids[0],
            body = new { action = "sendmessage", room = BigRoom, message = new { text = "broadcast", at = started } },
        });
        long smallSent = 0;
        if (small is not null)
        {
            smallSent = Stopwatch.GetTimestamp();
            await driver.PostAsync("/handle-event", new
            {
                connection_id = small[0],
                body = new { action = "sendmessage", room = SmallRoom, message = "small room" },
            });
        }

        var reached = await sink.WaitForTargetAsync(DeliveryTimeout);
        await VerifyExactlyOnceAsync(ids.Concat(small ?? []), expected);
        double? smallSeconds = watched is null ? null : (watched.Max(t => t.Result) - smallSent) / (double)Stopwatch.Frequency;
        return ((reached - started) / (double)Stopwatch.Frequency, smallSeconds);
    }

    private async Task VerifyExactlyOnceAsync(IEnumerable<string> recipients, int expected)
    {
        // A duplicate would arrive after the target was reached: give stragglers a moment.
        await Task.Delay(200);
        var hits = sink.Hits;
        var wrong = recipients.Count(id => !hits.TryGetValue(id, out var count) || count != 1);
        if (wrong > 0 || hits.Count != expected || sink.UnsignedPosts > 0 || sink.Posts != expected)
        {
            report.Fail($"cluster broadcast: {wrong} recipients without exactly one delivery, {hits.Count} distinct and {sink.Posts} posts for {expected}, {sink.UnsignedPosts} unsigned");
            throw new InvalidOperationException("cluster broadcast: deliveries incomplete or duplicated");
        }
    }

    /// <summary>Each silo's <c>tether_deliveries_total{outcome="delivered"}</c>, in silo order.</summary>
    private static async Task<long[]> DeliveredAsync(List<Silo> silos) =>
        await Task.WhenAll(silos.Select(async silo =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(silo.BaseAddress, "/metrics"));
            request.Headers.Add("X-Api-Key", ApiKey);
            using var response = await Http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            var text = await response.Content.ReadAsStringAsync();
            long total = 0;
            foreach (var line in text.Split('\n'))
            {
                // e.g. tether_deliveries_total{otel_scope_name="Tether",outcome="delivered"} 1250 1764000000000
                if (!line.StartsWith("tether_deliveries_total{", StringComparison.Ordinal) ||
                    !line.Contains("outcome=\"delivered\"", StringComparison.Ordinal)) continue;
                var value = line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
                total += (long)double.Parse(value, CultureInfo.InvariantCulture);
            }
            return total;
        }));

    /// <summary>
    /// The counters once they add up to the sink's count: a post is counted after its response, and the exporter
    /// caches a scrape briefly, so the first read after the last delivery may still be short.
    /// </summary>
    private static async Task<long[]> DeliveredWhenSettledAsync(List<Silo> silos, long[] before, long expected)
    {
        var deadline = Stopwatch.GetTimestamp() + 15 * Stopwatch.Frequency;
        while (true)
        {
            var now = await DeliveredAsync(silos);
            if (now.Zip(before, (a, b) => a - b).Sum() >= expected || Stopwatch.GetTimestamp() > deadline) return now;
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Where the room's shards live, from the Orleans dashboard's counters (activations per grain type and silo; the
    /// big room is the only sharded one). Best effort: null when the counters do not list them within a few seconds.
    /// </summary>
    private static async Task<(int Total, int[] PerSilo)?> ShardPlacementAsync(List<Silo> silos)
    {
        var deadline = Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(silos[0].BaseAddress, "/dashboard/DashboardCounters"));
                request.Headers.Add("X-Api-Key", ApiKey);
                using var response = await Http.SendAsync(request);
                if (response.IsSuccessStatusCode)
                {
                    using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    var perSilo = new int[silos.Count];
                    if (json.RootElement.TryGetProperty("simpleGrainStats", out var stats))
                    {
                        foreach (var stat in stats.EnumerateArray())
                        {
                            if (!(stat.GetProperty("grainType").GetString() ?? "").Contains("RoomShardGrain", StringComparison.Ordinal)) continue;
                            var address = stat.GetProperty("siloAddress").GetString() ?? "";
                            var at = silos.FindIndex(s => address.Contains($":{s.SiloPort}", StringComparison.Ordinal));
                            if (at >= 0) perSilo[at] += stat.GetProperty("activationCount").GetInt32();
                        }
                    }
                    if (perSilo.Sum() > 0) return (perSilo.Sum(), perSilo);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
            {
                Report.Line($"cluster: dashboard counters not readable yet ({e.GetType().Name})");
            }
            await Task.Delay(500);
        }
        return null;
    }

    internal static async Task WaitForActiveSilosAsync(NodeProcess api, int count)
    {
        var wanted = $"{count} active silo(s)";
        var deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        var last = "";
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                last = await Http.GetStringAsync(new Uri(api.BaseAddress, "/health/ready"));
                if (last.Contains(wanted, StringComparison.Ordinal)) return;
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"the API does not see {wanted}: {last}");
    }

    private Dictionary<string, string> Common(string redis) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Benchmark",
        ["DOTNET_ENVIRONMENT"] = "Benchmark",
        ["ConnectionStrings__redis"] = redis,
        ["Orleans__ClusterId"] = _clusterId,
        ["Orleans__ServiceId"] = _clusterId,
        ["ManagementApi__Endpoint"] = connectionUrl.ToString(),
        ["ManagementApi__AccessKeyId"] = credentials.GetCredentials().AccessKey,
        ["ManagementApi__SecretAccessKey"] = credentials.GetCredentials().SecretKey,
        ["ManagementApi__Region"] = "us-east-1",
        ["Admin__ApiKeys__0"] = ApiKey,
        ["Rooms__Default"] = "",
        // As in the other phases: presence would turn each join into posts to the other members.
        ["Rooms__PresenceNotices"] = "false",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    /// <summary>The shared settings with the caller's overrides (another phase's variant, e.g. history off).</summary>
    private Dictionary<string, string> SettingsFor(string redis)
    {
        var environment = Common(redis);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>()) environment[key] = value;
        return environment;
    }

    internal async Task<Silo> StartSiloAsync(string name, string redis)
    {
        var bin = Path.Combine(repo, "src", "Silo", "bin", settings.Configuration, "net10.0");
        var http = FreePort.Next();
        var siloPort = FreePort.Next();
        var environment = SettingsFor(redis);
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{http}";
        environment["Orleans__Endpoints__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        environment["Orleans__Endpoints__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        environment["Orleans__Endpoints__AdvertisedIPAddress"] = "127.0.0.1";
        environment["Orleans__Endpoints__ListenAddress"] = "127.0.0.1";
        environment["Telemetry__Prometheus"] = "true";
        environment["Delivery__MaxConcurrency"] = settings.Concurrency.ToString(CultureInfo.InvariantCulture);
        // The sink has no quota: the post budget must not be what this phase measures.
        environment["Delivery__MaxPostsPerSecond"] = "1000000";
        if (settings.ClusterShardThreshold is { } threshold)
        {
            environment["Rooms__ShardThreshold"] = threshold.ToString(CultureInfo.InvariantCulture);
        }
        if (settings.ClusterInitialShards is { } shards)
        {
            environment["Rooms__InitialShards"] = shards.ToString(CultureInfo.InvariantCulture);
        }
        var process = await NodeProcess.Start(name, "dotnet", [Path.Combine(bin, "Tether.Silo.dll")], bin, environment, new Uri($"http://127.0.0.1:{http}"))
            .ReadyAsync("/health/ready", StartTimeout);
        return new Silo(name, process, siloPort);
    }

    internal Task<NodeProcess> StartApiAsync(string redis)
    {
        var bin = Path.Combine(repo, "src", "Api", "bin", settings.Configuration, "net10.0");
        var port = FreePort.Next();
        var environment = SettingsFor(redis);
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        environment["Integration__Secrets__0"] = Secret;
        environment["LocalGateway__Enabled"] = "false";
        return NodeProcess.Start("api", "dotnet", [Path.Combine(bin, "Tether.Api.dll")], bin, environment, new Uri($"http://127.0.0.1:{port}"))
            .ReadyAsync("/health/live", StartTimeout);
    }

    internal sealed record Silo(string Name, NodeProcess Process, int SiloPort)
    {
        public Uri BaseAddress => Process.BaseAddress;
    }
}

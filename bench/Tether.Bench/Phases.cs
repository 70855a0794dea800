using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Tether.Testing;

namespace Tether.Bench;

/// <summary>The benchmark's phases. Each starts the servers it needs and stops them, so phases do not disturb each other.</summary>
internal sealed partial class Phases(
    BenchSettings settings, string repo, ManagementApiSink sink, Uri connectionUrl, AWSCredentials credentials, Report report, BareWorker bareWorker)
{
    private const string Secret = "bench-integration-secret";
    private const string ApiKey = "bench-management-key";
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromMinutes(3);
    private const int WarmSmallRoom = 20;
    // Past Rooms:ShardThreshold (1,000): the warm-up covers the sharded path that the 10,000 and 100,000 rooms take.
    private const int WarmShardedRoom = 2500;
    private const int WarmMinRounds = 3;
    private const int WarmMaxRounds = 30;
    private const int LatencyWarmSeconds = 10;
    // An idle API process uses about 30 ms of CPU per second (Orleans' and Kestrel's timers); the JIT, hundreds.
    private static readonly TimeSpan WarmQuietCpu = TimeSpan.FromMilliseconds(50);

    /// <summary>Our time to last delivery per broadcast size, kept for the comparison with the seed.</summary>
    private readonly Dictionary<int, double> _oursSeconds = [];
    private readonly Dictionary<int, double> _bareSeconds = [];
    private double _oursIngressSustained;

    public async Task BroadcastAsync()
    {
        await using var backend = await StartOursAsync();
        using var driver = new IntegrationDriver(backend.BaseAddress, Secret);

        await WarmUpAsync(backend, driver);

        foreach (var size in settings.BroadcastSizes)
        {
            var room = $"b{size}";
            var ids = ConnectionIdMaker.Make(room, size);
            var started = Stopwatch.GetTimestamp();
            await driver.ConnectAllAsync(ids, _ => room);
            var registration = Stopwatch.GetElapsedTime(started);
            report.Row($"register {size:N0} connections into one room", $"{Report.Number(size / registration.TotalSeconds)} /s",
                $"{registration.TotalSeconds:0.0} s, 32 parallel /connect calls");
            await CheckMembersAsync(driver, room, size);

            var small = ConnectionIdMaker.Make($"f{size}", 2);
            await driver.ConnectAllAsync(small, _ => $"f{size}");

            // One untimed broadcast first: the room's first fan-out activates its shards and meets the garbage of the
            // registration burst; the table is about the steady state (the bare client's connections are warm too).
            await OursBroadcastAsync(driver, ids, room, fairness: null);

            var ours = new List<double>();
            var bare = new List<double>();
            double? fairness = null;
            double oursCpu = 0, bareCpu = 0;
            for (var r = 0; r < settings.Repeats; r++)
            {
                var last = r == settings.Repeats - 1;
                var cpu = ProcessCpu.Seconds(backend.Id);
                var (seconds, small2) = await OursBroadcastAsync(driver, ids, room, last ? (small, $"f{size}") : null);
                oursCpu += ProcessCpu.Seconds(backend.Id) - cpu;
                ours.Add(seconds);
                fairness ??= small2;
                cpu = ProcessCpu.Seconds(bareWorker.Id);
                bare.Add(await BareAsync(ids));
                bareCpu += ProcessCpu.Seconds(bareWorker.Id) - cpu;
            }

            var oursTime = Median(ours);
            var bareTime = Median(bare);
            _oursSeconds[size] = oursTime;
            _bareSeconds[size] = bareTime;
            report.Row($"broadcast to {size:N0}: time to last delivery", $"{oursTime * 1000:N0} ms",
                $"median of {ours.Count}: {string.Join(", ", ours.Select(s => (s * 1000).ToString("N0", CultureInfo.InvariantCulture)))} ms");
            report.Row($"broadcast to {size:N0}: deliveries/s", Report.Number(size / oursTime));
            report.Row($"bare limit for {size:N0}: signed posts/s", Report.Number(size / bareTime),
                $"{settings.Concurrency} concurrent, no Orleans; median {bareTime * 1000:N0} ms");
            report.Row($"broadcast to {size:N0}: share of bare limit", $"{bareTime / oursTime:P0}");
            var posts = (double)size * settings.Repeats;
            report.Row($"broadcast to {size:N0}: CPU per delivery, ours ÷ bare", $"{oursCpu / bareCpu:0.00}",
                $"our process {oursCpu * 1e6 / posts:N0} µs, the bare client's {bareCpu * 1e6 / posts:N0} µs per post (the sink's excluded)");
            if (fairness is { } f)
            {
                report.Row($"2-member room's message sent during the {size:N0} broadcast", $"{f * 1000:N0} ms to its last delivery",
                    "fairness between rooms");
            }
        }
    }

    /// <summary>
    /// Warm-up, for ours and the bare client alike (the same posts each): connection pools, grain activations, and above
    /// all the JIT. Tiered compilation recompiles hot methods in the background for tens of seconds after a process
    /// starts; a broadcast timed meanwhile shares the cores with the compiler. So rounds go on until our process, in
    /// the second after a round, uses about what it does idle: a small room (code that runs once per message, senders
    /// taking turns as in a chat), a 1,000-member room (the per-post path) and a sharded room (the shards' path).
    /// </summary>
    private async Task WarmUpAsync(NodeProcess backend, IntegrationDriver driver)
    {
        var started = Stopwatch.GetTimestamp();
        var rooms = new (string Room, string[] Ids)[]
        {
            ("warm-small", ConnectionIdMaker.Make("warm-small", WarmSmallRoom)),
            ("warm", ConnectionIdMaker.Make("warm", 1000)),
            ("warm-sharded", ConnectionIdMaker.Make("warm-sharded", WarmShardedRoom)),
        };
        foreach (var (room, ids) in rooms) await driver.ConnectAllAsync(ids, _ => room);

        var rounds = 0;
        var quiet = 0;
        double after = 0;
        while (quiet < 2 && rounds < (settings.Smoke ? 1 : WarmMaxRounds))
        {
            rounds++;
            var (smallRoom, small) = rooms[0];
            for (var i = 0; i < WarmSmallRoom; i++)
            {
                // One sender alone would meet the per-connection rate limit; in a chat, senders take turns.
                await OursBroadcastAsync(driver, [.. small.Skip(i), .. small.Take(i)], smallRoom, fairness: null);
                await BareAsync(small);
            }
            foreach (var (room, ids) in rooms.Skip(1))
            {
                await OursBroadcastAsync(driver, ids, room, fairness: null);
                await BareAsync(ids);
            }
            after = await CpuOverAsync(backend.Id, TimeSpan.FromSeconds(1));
            quiet = rounds >= WarmMinRounds && after <= WarmQuietCpu.TotalSeconds ? quiet + 1 : 0;
        }
        report.Row("warm-up before the broadcasts", $"{rounds} rounds, {Stopwatch.GetElapsedTime(started).TotalSeconds:N0} s",
            $"until our process used at most {WarmQuietCpu.TotalMilliseconds:N0} ms of CPU in the second after a round, twice ({after * 1000:N0} ms after the last)" +
            (quiet < 2 && !settings.Smoke ? $"; NOT settled after {WarmMaxRounds} rounds" : ""));
    }

    /// <summary>CPU seconds the process uses over the next <paramref name="span"/>.</summary>
    private static async Task<double> CpuOverAsync(int pid, TimeSpan span)
    {
        var before = ProcessCpu.Seconds(pid);
        await Task.Delay(span);
        return ProcessCpu.Seconds(pid) - before;
    }

    public async Task IngressAsync()
    {
        await using var backend = await StartOursAsync();
        using var driver = new IntegrationDriver(backend.BaseAddress, Secret);
        var ids = ConnectionIdMaker.Make("ingress", settings.IngressRooms * BenchSettings.RoomSize);
        await driver.ConnectAllAsync(ids, i => $"i{i / BenchSettings.RoomSize}");
        var bodies = ids.Select((id, i) => JsonSerializer.Serialize(new
        {
            connection_id = id,
            body = new { action = "sendmessage", room = $"i{i / BenchSettings.RoomSize}", message = new { text = "hello room" } },
        })).ToArray();

        await WarmIngressAsync(backend, bodies, BenchSettings.RoomSize);
        var (accepted, sustained, requests) = await WrkAsync(backend.BaseAddress, bodies, BenchSettings.RoomSize);
        _oursIngressSustained = sustained;
        report.Row($"ingress, rooms of {BenchSettings.RoomSize}: /handle-event calls/s answered", Report.Number(accepted),
            $"wrk -t2 -c64 --timeout 30s -d{settings.IngressSeconds}s after the same run untimed, {requests:N0} calls");
        report.Row($"ingress, rooms of {BenchSettings.RoomSize}: calls/s fully delivered", Report.Number(sustained),
            $"calls ÷ time from first call to the last of {requests * BenchSettings.RoomSize:N0} deliveries");
    }

    /// <summary>
    /// End-to-end latency through the local gateway: one WebSocket client sends to a room at a fixed rate, another
    /// measures when each message arrives (the send time travels inside the message).
    /// </summary>
    public async Task LatencyAsync()
    {
        var gatewayPort = FreePort.Next();
        await using var backend = await StartOursAsync(new Dictionary<string, string>
        {
            ["LocalGateway__Enabled"] = "true",
            ["LocalGateway__Port"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["RESPONSE_MESSAGE_URL"] = $"http://127.0.0.1:{gatewayPort}/local",
        });
        var socketUrl = new Uri($"ws://127.0.0.1:{gatewayPort}/local");
        using var sender = new System.Net.WebSockets.ClientWebSocket();
        using var receiver = new System.Net.WebSockets.ClientWebSocket();
        await sender.ConnectAsync(socketUrl, CancellationToken.None);
        await receiver.ConnectAsync(socketUrl, CancellationToken.None);
        await SendTextAsync(receiver, """{"action":"joinroom","room":"latency"}""");
        await ReceiveUntilAsync(receiver, text => text.Contains("\"joined\"", StringComparison.Ordinal));
        await SendTextAsync(sender, """{"action":"joinroom","room":"latency"}""");
        await ReceiveUntilAsync(sender, text => text.Contains("\"joined\"", StringComparison.Ordinal));

        var rate = settings.LatencyRate;
        // The first seconds are a fresh process's: JIT and first activations. They are sent and checked, not counted.
        var warm = settings.Smoke ? 0 : rate * LatencyWarmSeconds;
        var measured = rate * settings.LatencySeconds;
        var count = warm + measured;
        var latencies = new List<double>(count);
        var receiving = Task.Run(async () =>
        {
            while (latencies.Count < count)
            {
                var text = await ReceiveUntilAsync(receiver, t => t.Contains("\"type\":\"message\"", StringComparison.Ordinal));
                using var envelope = JsonDocument.Parse(text);
                var sentAt = envelope.RootElement.GetProperty("body").GetProperty("t").GetInt64();
                latencies.Add((Stopwatch.GetTimestamp() - sentAt) * 1000.0 / Stopwatch.Frequency);
            }
        });

        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            // Paced from the start time, so a slow send does not lower the rate that follows.
            var due = started + (long)(i * Stopwatch.Frequency / (double)rate);
            var wait = due - Stopwatch.GetTimestamp();
            if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
            await SendTextAsync(sender, $$$"""{"action":"sendmessage","room":"latency","echo":false,"message":{"t":{{{Stopwatch.GetTimestamp()}}}}}""");
        }
        if (await Task.WhenAny(receiving, Task.Delay(DeliveryTimeout)) != receiving)
        {
            report.Fail($"latency: {latencies.Count} of {count} messages arrived");
            throw new TimeoutException("latency: messages missing");
        }
        await receiving;

        var sorted = latencies.Skip(warm).Order().ToArray();
        report.Row($"end-to-end latency at {rate} messages/s, p50", $"{sorted[sorted.Length / 2]:0.0} ms",
            $"{measured} messages after {warm} untimed, client → local gateway → /handle-event → grains → Management API → gateway → client");
        report.Row($"end-to-end latency at {rate} messages/s, p99", $"{sorted[(int)(sorted.Length * 0.99)]:0.0} ms");
    }

    private static Task SendTextAsync(System.Net.WebSockets.ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<string> ReceiveUntilAsync(System.Net.WebSockets.ClientWebSocket socket, Func<string, bool> wanted)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var timeout = new CancellationTokenSource(DeliveryTimeout);
            var length = 0;
            System.Net.WebSockets.ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
                length += result.Count;
            }
            while (!result.EndOfMessage);
            if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close) throw new InvalidOperationException("socket closed");
            var text = Encoding.UTF8.GetString(buffer, 0, length);
            if (wanted(text)) return text;
        }
    }

    /// <summary>How long the benchmark lets a connection's grain sit idle before Orleans collects it (production default: 2 minutes).</summary>
    private static readonly TimeSpan MemoryIdleAge = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan MemoryCollectionQuantum = TimeSpan.FromSeconds(10);

    public async Task MemoryAsync()
    {
        // A short idle age, so the steady state (idle grains collected) comes within the phase. /connect activates no
        // connection grain (ConnectorGrain), so the figure right after registration holds none of theirs.
        await using var backend = await StartOursAsync(new Dictionary<string, string>
        {
            ["Connections__IdleActivationAge"] = MemoryIdleAge.ToString("c", CultureInfo.InvariantCulture),
            ["Orleans__GrainCollection__CollectionQuantum"] = MemoryCollectionQuantum.ToString("c", CultureInfo.InvariantCulture),
        });
        using var driver = new IntegrationDriver(backend.BaseAddress, Secret);
        var warm = ConnectionIdMaker.Make("memwarm", 1000);
        await driver.ConnectAllAsync(warm, i => $"mw{i / BenchSettings.RoomSize}");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var before = backend.ResidentBytes();

        var count = settings.MemoryConnections;
        var ids = ConnectionIdMaker.Make("mem", count);
        var started = Stopwatch.GetTimestamp();
        await driver.ConnectAllAsync(ids, i => $"m{i / BenchSettings.RoomSize}");
        var registration = Stopwatch.GetElapsedTime(started);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = backend.ResidentBytes();
        await CheckMembersAsync(driver, "m0", BenchSettings.RoomSize);

        report.Row($"memory: resident growth for {count:N0} connections in rooms of {BenchSettings.RoomSize}, right after registration",
            $"{(after - before) / 1048576.0:N1} MB", $"{before / 1048576.0:N0} MB → {after / 1048576.0:N0} MB; registration took {registration.TotalSeconds:N0} s");
        report.Row("memory per connection, right after registration", $"{(after - before) / (double)count:N0} bytes");

        var (idle, waited) = await SettledResidentBytesAsync(backend);
        report.Row($"memory: resident growth for {count:N0} idle connections once their grains are collected",
            $"{(idle - before) / 1048576.0:N1} MB", $"{before / 1048576.0:N0} MB → {idle / 1048576.0:N0} MB; settled {waited.TotalSeconds:N0} s after registration (idle age {MemoryIdleAge.TotalSeconds:N0} s)");
        report.Row("memory per connection, idle steady state", $"{(idle - before) / (double)count:N0} bytes", "target ≤ 2,048");
        // The collected connections are still there: their state reloads on the next call.
        await CheckMembersAsync(driver, "m0", BenchSettings.RoomSize);
        if (settings.GcDump) await GcDumpAsync(backend);
        report.Row($"register {count:N0} connections in rooms of {BenchSettings.RoomSize}", $"{Report.Number(count / registration.TotalSeconds)} /s");
    }

    /// <summary>
    /// Waits until the idle connection grains have been collected and the resident size has stopped falling: at
    /// least the idle age and two collection rounds, then until three readings 5 s apart are within 1 % (at most 3 minutes).
    /// </summary>
    private static async Task<(long Bytes, TimeSpan Waited)> SettledResidentBytesAsync(NodeProcess backend)
    {
        var clock = Stopwatch.StartNew();
        await Task.Delay(MemoryIdleAge + 2 * MemoryCollectionQuantum);
        var readings = new List<long> { backend.ResidentBytes() };
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            readings.Add(backend.ResidentBytes());
            var last = readings.TakeLast(3).ToList();
            if (last.Count == 3 && last.Max() - last.Min() <= last.Max() / 100) break;
        }
        return (readings[^1], clock.Elapsed);
    }

    /// <summary>The profile behind the memory figure: the backend's managed heap by type (dotnet-gcdump must be installed).</summary>
    private static async Task GcDumpAsync(NodeProcess backend)
    {
        var file = Path.Combine(Path.GetTempPath(), $"tether-bench-{backend.Id}.gcdump");
        try
        {
            await RunAsync("dotnet-gcdump", ["collect", "-p", backend.Id.ToString(CultureInfo.InvariantCulture), "-o", file]);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Report.Line("--gcdump: dotnet-gcdump is not on PATH (dotnet tool install -g dotnet-gcdump; add ~/.dotnet/tools to PATH)");
            return;
        }
        var heap = await RunAsync("dotnet-gcdump", ["report", file]);
        File.Delete(file);
        Report.Line("managed heap of the backend by type (largest first):");
        // The report lists each type's total bytes and count; the largest totals are the profile.
        var totals = heap.Split('\n')
            .Select(l => (Line: l, Bytes: long.TryParse(l.Trim().Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var b) ? b : -1))
            .Where(t => t.Bytes >= 0)
            .OrderByDescending(t => t.Bytes)
            .Take(30);
        foreach (var (line, _) in totals) Console.WriteLine(line);
    }

    public async Task SeedAsync()
    {
        if (settings.SeedDirectory is null)
        {
            report.Row("seed baseline", "skipped", "no seed-node folder next to the repository; pass --seed-dir");
            return;
        }
        var seed = await PrepareSeedAsync(settings.SeedDirectory);
        var n = settings.SeedConnections;

        await using (var backend = await StartSeedAsync(seed))
        {
            using var driver = new IntegrationDriver(backend.BaseAddress, secret: null);
            var ids = ConnectionIdMaker.Make("seed", n);
            await driver.ConnectAllAsync(ids, _ => null);
            var times = new List<double>();
            // The same warm-up as ours: 5,000 posts.
            for (var i = 0; i < 5; i++) await SeedBroadcastAsync(driver, ids);
            for (var r = 0; r < settings.Repeats; r++) times.Add(await SeedBroadcastAsync(driver, ids));
            var seedTime = Median(times);
            report.Row($"seed: broadcast to {n:N0}: time to last delivery", $"{seedTime * 1000:N0} ms",
                $"median of {times.Count}; {Report.Number(n / seedTime)} deliveries/s");
            if (_oursSeconds.TryGetValue(n, out var ours))
            {
                report.Row($"ours ÷ seed, time to last delivery at {n:N0}", $"{ours / seedTime:0.00}", "target ≤ 0.20");
            }
            if (_bareSeconds.TryGetValue(n, out var bareTime))
            {
                // What the target asks against what the machine gives: a client with no Orleans at all, same run.
                report.Row($"bare client ÷ seed at {n:N0}", $"{bareTime / seedTime:0.00}",
                    $"a client with no Orleans, same run: about the least any backend takes here; one fifth of the seed is {seedTime * 200:N0} ms, {Report.Number(n / (seedTime / 5))} posts/s");
            }
        }

        await using (var backend = await StartSeedAsync(seed))
        {
            using var driver = new IntegrationDriver(backend.BaseAddress, secret: null);
            var ids = ConnectionIdMaker.Make("seedingress", BenchSettings.RoomSize);
            await driver.ConnectAllAsync(ids, _ => null);
            var bodies = ids.Select(id => JsonSerializer.Serialize(new { connection_id = id, body = new { message = "hello room" } })).ToArray();
            await WarmIngressAsync(backend, bodies, BenchSettings.RoomSize);
            var (accepted, sustained, requests) = await WrkAsync(backend.BaseAddress, bodies, BenchSettings.RoomSize);
            report.Row($"seed: ingress with {BenchSettings.RoomSize} connections: calls/s answered", Report.Number(accepted), $"{requests:N0} calls");
            report.Row($"seed: ingress with {BenchSettings.RoomSize} connections: calls/s fully delivered", Report.Number(sustained));
            if (_oursIngressSustained > 0)
            {
                report.Row("ours ÷ seed, ingress calls/s fully delivered", $"{_oursIngressSustained / sustained:0.0}", "target ≥ 5");
                if (_bareSeconds.Count > 0)
                {
                    // Each call is RoomSize posts: five times the seed's calls need this many posts/s, whatever the backend.
                    var needed = 5 * sustained * BenchSettings.RoomSize;
                    var (size, fastest) = _bareSeconds.Select(b => (b.Key, Rate: b.Key / b.Value)).MaxBy(b => b.Rate);
                    report.Row("posts/s that 5 × the seed's ingress needs", Report.Number(needed),
                        $"{needed / fastest:P0} of the bare client's best rate in this run ({Report.Number(fastest)} posts/s at {size:N0}), before any request handling");
                }
            }
        }
    }

    private async Task<(double Seconds, double? Small)> OursBroadcastAsync(
        IntegrationDriver driver, string[] ids, string room, (string[] Ids, string Room)? fairness)
    {
        var expected = ids.Length + (fairness?.Ids.Length ?? 0);
        sink.Reset(expected);
        var watched = fairness?.Ids.Select(sink.WatchAsync).ToArray();
        var started = Stopwatch.GetTimestamp();
        await driver.PostAsync("/handle-event", new
        {
            connection_id = ids[0],
            body = new { action = "sendmessage", room, message = new { text = "broadcast", at = started } },
        });

        long smallSent = 0;
        if (fairness is { } f)
        {
            smallSent = Stopwatch.GetTimestamp();
            await driver.PostAsync("/handle-event", new
            {
                connection_id = f.Ids[0],
                body = new { action = "sendmessage", room = f.Room, message = "small room" },
            });
        }

        var reached = await sink.WaitForTargetAsync(DeliveryTimeout);
        Report.Line($"broadcast to {room}: first post after {(sink.FirstPostTimestamp - started) * 1000.0 / Stopwatch.Frequency:0.0} ms, last after {(reached - started) * 1000.0 / Stopwatch.Frequency:0.0} ms");
        await VerifyExactlyOnceAsync(ids.Concat(fairness?.Ids ?? []), expected, $"broadcast to {room}");
        double? small = watched is null ? null : (watched.Max(t => t.Result) - smallSent) / (double)Stopwatch.Frequency;
        return ((reached - started) / (double)Stopwatch.Frequency, small);
    }

    private async Task<double> BareAsync(string[] ids)
    {
        sink.Reset(ids.Length);
        // The same shape and size as our envelope, so both sides move the same bytes.
        var payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            type = "message", room = "b0000", from = ids[0], user = (string?)null,
            body = new { text = "broadcast", at = Stopwatch.GetTimestamp() },
            id = Guid.CreateVersion7().ToString(), sentAt = DateTime.UtcNow,
        }));
        var elapsed = await bareWorker.PostAllAsync(ids, payload);
        await VerifyExactlyOnceAsync(ids, ids.Length, "bare client");
        return elapsed.TotalSeconds;
    }

    private async Task<double> SeedBroadcastAsync(IntegrationDriver driver, string[] ids)
    {
        sink.Reset(ids.Length);
        var started = Stopwatch.GetTimestamp();
        await driver.PostAsync("/handle-event", new { connection_id = ids[0], body = new { message = "broadcast" } });
        var reached = await sink.WaitForTargetAsync(DeliveryTimeout);
        await VerifyExactlyOnceAsync(ids, ids.Length, "seed broadcast");
        return (reached - started) / (double)Stopwatch.Frequency;
    }

    /// <summary>Every recipient got exactly one post, and nobody else got any (waits briefly for stragglers).</summary>
    private async Task VerifyExactlyOnceAsync(IEnumerable<string> recipients, int expected, string what)
    {
        await Task.Delay(50);
        var hits = sink.Hits;
        var missing = recipients.Count(id => !hits.TryGetValue(id, out var n) || n != 1);
        if (missing > 0 || hits.Count != expected || sink.UnsignedPosts > 0)
        {
            report.Fail($"{what}: {missing} recipients without exactly one delivery, {hits.Count} distinct of {expected}, {sink.UnsignedPosts} unsigned");
            throw new InvalidOperationException($"{what}: deliveries incomplete or duplicated");
        }
    }

    private async Task CheckMembersAsync(IntegrationDriver driver, string room, int expected)
    {
        var json = await driver.GetJsonAsync($"/api/rooms/{room}", ApiKey);
        var members = json.GetProperty("members").GetInt32();
        if (members != expected)
        {
            report.Fail($"room {room} has {members} members, expected {expected}");
            throw new InvalidOperationException("membership lost");
        }
    }

    /// <summary>Runs wrk against /handle-event, then waits for every delivery the answered calls caused.</summary>
    /// <summary>
    /// The same wrk, untimed, for as long as the timed run, then until the backend's CPU is back to idle (at most 30 s):
    /// each phase starts a fresh process, whose JIT would otherwise still be busy during the timed run.
    /// </summary>
    private async Task WarmIngressAsync(NodeProcess backend, string[] bodies, int recipientsPerCall)
    {
        await WrkAsync(backend.BaseAddress, bodies, recipientsPerCall);
        for (var i = 0; i < 30 && await CpuOverAsync(backend.Id, TimeSpan.FromSeconds(1)) > WarmQuietCpu.TotalSeconds; i++)
        {
        }
    }

    private async Task<(double Accepted, double Sustained, long Requests)> WrkAsync(Uri baseAddress, string[] bodies, int recipientsPerCall)
    {
        var script = Path.Combine(Path.GetTempPath(), $"tether-bench-{Environment.ProcessId}.lua");
        var lua = new StringBuilder();
        lua.AppendLine("local bodies = {");
        foreach (var body in bodies) lua.Append("  \"").Append(body.Replace("\\", "\\\\").Replace("\"", "\\\"")).AppendLine("\",");
        lua.AppendLine("}");
        lua.AppendLine("local i = 0");
        lua.AppendLine("wrk.method = \"POST\"");
        lua.AppendLine("wrk.headers[\"Content-Type\"] = \"application/json\"");
        lua.AppendLine(CultureInfo.InvariantCulture, $"wrk.headers[\"{IntegrationDriver.SecretHeader}\"] = \"{Secret}\"");
        lua.AppendLine("request = function()");
        lua.AppendLine("  i = (i % #bodies) + 1");
        lua.AppendLine("  return wrk.format(nil, \"/handle-event\", nil, bodies[i])");
        lua.AppendLine("end");
        await File.WriteAllTextAsync(script, lua.ToString());

        sink.Reset(long.MaxValue);
        var started = Stopwatch.GetTimestamp();
        var output = await RunAsync("wrk", ["-t2", "-c64", "--timeout", "30s", $"-d{settings.IngressSeconds}s", "-s", script, new Uri(baseAddress, "/handle-event").ToString()]);
        File.Delete(script);

        var requests = long.Parse(Match(output, @"(\d+) requests in"), CultureInfo.InvariantCulture);
        var accepted = double.Parse(Match(output, @"Requests/sec:\s+([\d.]+)"), CultureInfo.InvariantCulture);
        if (output.Contains("Non-2xx", StringComparison.Ordinal) || output.Contains("Socket errors", StringComparison.Ordinal))
        {
            report.Fail($"wrk saw errors:\n{output}");
            throw new InvalidOperationException("ingress calls failed");
        }

        // wrk stops counting at the deadline, but calls already sent still reach the backend; wait until the
        // deliveries stop, then count calls from the deliveries (each call reaches exactly recipientsPerCall members).
        var expected = requests * recipientsPerCall;
        var deadline = Stopwatch.GetTimestamp() + (long)(DeliveryTimeout.TotalSeconds * Stopwatch.Frequency);
        long seen;
        do
        {
            seen = sink.Posts;
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException($"ingress: {seen} of {expected} deliveries");
            await Task.Delay(500);
        }
        while (seen < expected || sink.Posts != seen);

        if (seen % recipientsPerCall != 0 || seen > (requests + 64) * recipientsPerCall)
        {
            report.Fail($"ingress: {seen} deliveries for {requests} calls × {recipientsPerCall}");
            throw new InvalidOperationException("ingress deliveries do not match");
        }
        var calls = seen / recipientsPerCall;
        var sustained = calls / ((sink.LastPostTimestamp - started) / (double)Stopwatch.Frequency);
        return (accepted, sustained, calls);
    }

    private Task<NodeProcess> StartOursAsync(IReadOnlyDictionary<string, string>? overrides = null)
    {
        var bin = Path.Combine(repo, "src", "Api", "bin", settings.Configuration, "net10.0");
        var port = FreePort.Next();
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Benchmark",
            ["Hosting__SingleNode"] = "true",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["RESPONSE_MESSAGE_URL"] = connectionUrl.ToString(),
            ["AWS_REGION"] = "us-east-1",
            ["AWS_ACCESS_KEY_ID"] = credentials.GetCredentials().AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = credentials.GetCredentials().SecretKey,
            ["Integration__Secrets__0"] = Secret,
            ["Admin__ApiKeys__0"] = ApiKey,
            ["Rooms__Default"] = "",
            // Presence notices would turn each join into posts to the other members; the seed has none either.
            ["Rooms__PresenceNotices"] = "false",
            ["Delivery__MaxConcurrency"] = settings.Concurrency.ToString(CultureInfo.InvariantCulture),
            // These phases measure our own cost against a sink without a quota: the post budget must not be the limit.
            ["Delivery__MaxPostsPerSecond"] = "1000000",
            ["LocalGateway__Enabled"] = "false",
            ["Orleans__Endpoints__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Orleans__Endpoints__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>()) environment[key] = value;
        return NodeProcess.Start("api", "dotnet", [Path.Combine(bin, "Tether.Api.dll")], bin, environment, new Uri($"http://127.0.0.1:{port}"))
            .ReadyAsync("/health/live", TimeSpan.FromSeconds(60));
    }

    private Task<NodeProcess> StartSeedAsync(string seedDirectory)
    {
        var port = FreePort.Next();
        var environment = new Dictionary<string, string>
        {
            ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["HOST"] = "127.0.0.1",
            ["RESPONSE_MESSAGE_URL"] = connectionUrl.ToString(),
            ["AWS_REGION"] = "us-east-1",
            ["AWS_ACCESS_KEY_ID"] = credentials.GetCredentials().AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = credentials.GetCredentials().SecretKey,
            ["SEED_QUIET"] = "1",
        };
        // The seed answers GET / with Express's 404: good enough to know it listens.
        return NodeProcess.Start("seed", "node", ["index.js"], seedDirectory, environment, new Uri($"http://127.0.0.1:{port}"))
            .ReadyAsync("/", TimeSpan.FromSeconds(30));
    }

    /// <summary>A writable copy of the seed next to the benchmark, with its locked dependencies installed once.</summary>
    private async Task<string> PrepareSeedAsync(string source)
    {
        var target = Path.Combine(repo, "bench", ".seed-node");
        Directory.CreateDirectory(target);
        foreach (var file in new[] { "index.js", "package.json", "package-lock.json" })
        {
            File.Copy(Path.Combine(source, file), Path.Combine(target, file), overwrite: true);
        }
        if (!Directory.Exists(Path.Combine(target, "node_modules")))
        {
            Report.Line("installing the seed's dependencies (npm ci)");
            await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], target);
        }
        return target;
    }

    private static async Task<string> RunAsync(string file, string[] arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout + await stderr;
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} exited with {process.ExitCode}:\n{output}");
        return output;
    }

    private static string Match(string text, string pattern) =>
        System.Text.RegularExpressions.Regex.Match(text, pattern) is { Success: true } m
            ? m.Groups[1].Value
            : throw new InvalidOperationException($"'{pattern}' not found in:\n{text}");

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

}

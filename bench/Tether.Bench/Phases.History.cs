using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;
using Tether.Testing;

namespace Tether.Bench;

/// <summary>
/// What history (contract §7) costs, in one run: broadcast and ingress with history on (the default) and off
/// (<c>History__Size=0</c>), in the embedded shape (history in memory) and the cluster shape (one silo and the API on
/// Redis, history in Redis). Both variants run side by side and are measured in turns (on, off, then off, on, …), so
/// that whatever else the machine is doing falls on both alike. In the cluster shape Redis' own
/// <c>INFO commandstats</c>, read before and after, counts the commands each message costs.
/// </summary>
internal sealed partial class Phases
{
    private const string HistoryRoom = "hb";

    public async Task HistoryAsync()
    {
        foreach (var shape in new[] { "embedded", "cluster" })
        {
            await using var on = await StartHistoryVariantAsync(shape, historyOn: true);
            await using var off = await StartHistoryVariantAsync(shape, historyOn: false);
            HistoryVariant[] both = [on, off];
            foreach (var variant in both) await PrepareHistoryAsync(variant);
            foreach (var variant in both)
            {
                await SinkQuietAsync();
                await WarmIngressAsync(variant.Api, variant.Bodies, BenchSettings.RoomSize);
            }

            // Ingress: the same wrk run on each in turn, the order swapped every round.
            for (var r = 0; r < settings.Repeats; r++)
            {
                foreach (var variant in r % 2 == 0 ? both : both.Reverse())
                {
                    await SinkQuietAsync();
                    var before = await variant.CommandStatsAsync();
                    var (_, sustained, calls) = await WrkAsync(variant.Api.BaseAddress, variant.Bodies, BenchSettings.RoomSize);
                    variant.Ingress.Add(sustained);
                    variant.AddRedis(variant.PerIngressMessage, before, await variant.CommandStatsAsync(), calls);
                }
            }

            // Broadcasts: two untimed on each (activations, the room's first history), then timed in turns.
            await SinkQuietAsync();
            foreach (var variant in both)
            {
                for (var i = 0; i < 2; i++) await OursBroadcastAsync(variant.Driver, variant.Members, HistoryRoom, fairness: null);
            }
            for (var r = 0; r < settings.Repeats; r++)
            {
                foreach (var variant in r % 2 == 0 ? both : both.Reverse())
                {
                    var before = await variant.CommandStatsAsync();
                    variant.Broadcasts.Add((await OursBroadcastAsync(variant.Driver, variant.Members, HistoryRoom, fairness: null)).Seconds);
                    variant.AddRedis(variant.PerBroadcast, before, await variant.CommandStatsAsync(), 1);
                }
            }
            ReportHistory(shape, on, off);
        }
    }

    private void ReportHistory(string shape, HistoryVariant on, HistoryVariant off)
    {
        var size = settings.HistoryBroadcast;
        static string Times(List<double> values, double scale, string format) =>
            string.Join(", ", values.Select(v => (v * scale).ToString(format, CultureInfo.InvariantCulture)));
        foreach (var variant in new[] { on, off })
        {
            report.Row($"{variant.Name}: broadcast to {size:N0}: time to last delivery", $"{Median(variant.Broadcasts) * 1000:N0} ms",
                $"median of {variant.Broadcasts.Count}: {Times(variant.Broadcasts, 1000, "N0")} ms");
            report.Row($"{variant.Name}: ingress, rooms of {BenchSettings.RoomSize}: calls/s fully delivered", Report.Number(Median(variant.Ingress)),
                $"median of {variant.Ingress.Count} wrk -t2 -c64 -d{settings.IngressSeconds}s runs: {Times(variant.Ingress, 1, "N0")}");
        }
        report.Row($"history cost, {shape}: broadcast to {size:N0}, time on ÷ off", $"{Median(on.Broadcasts) / Median(off.Broadcasts):0.00}",
            "medians, measured in turns; target ≤ 1.10");
        report.Row($"history cost, {shape}: ingress calls/s fully delivered, on ÷ off", $"{Median(on.Ingress) / Median(off.Ingress):0.00}",
            "medians, measured in turns; target ≥ 0.90");
        if (on.Redis is null) return;
        foreach (var variant in new[] { on, off })
        {
            var perMessage = variant.PerIngressMessage.PerUnit;
            var perBroadcast = variant.PerBroadcast.PerUnit;
            report.Row($"{variant.Name}: Redis commands per ingress message", Report.Number(perMessage.Values.Sum(), "0.00"), Describe(perMessage));
            report.Row($"{variant.Name}: Redis commands per broadcast to {size:N0}", Report.Number(perBroadcast.Values.Sum(), "0.00"), Describe(perBroadcast));
        }
    }

    private async Task<HistoryVariant> StartHistoryVariantAsync(string shape, bool historyOn)
    {
        var name = $"history {(historyOn ? "on" : "off")}, {shape}";
        // Size 0 turns history off; "on" is the product's default, so it sets nothing.
        var overrides = historyOn ? new Dictionary<string, string>() : new Dictionary<string, string> { ["History__Size"] = "0" };
        if (shape == "embedded") return new HistoryVariant(name, await StartOursAsync(overrides), Secret);

        var redis = await RedisServer.StartAsync();
        var cluster = new ClusterPhase(settings, repo, sink, connectionUrl, credentials, report, overrides);
        var silo = await cluster.StartSiloAsync("silo0", redis.ConnectionString);
        var api = await cluster.StartApiAsync(redis.ConnectionString);
        await ClusterPhase.WaitForActiveSilosAsync(api, 1);
        // One connection for the whole phase, so that the counts hold no connection set-up of ours.
        var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        return new HistoryVariant(name, api, Secret, redis, silo.Process, client);
    }

    /// <summary>Senders in rooms of ten for ingress and one big room for broadcasts, with ids of their own per variant.</summary>
    private async Task PrepareHistoryAsync(HistoryVariant variant)
    {
        var prefix = variant.Name.Replace(" ", "", StringComparison.Ordinal).Replace(",", "-", StringComparison.Ordinal);
        var senders = ConnectionIdMaker.Make(prefix + "-in", settings.IngressRooms * BenchSettings.RoomSize);
        await variant.Driver.ConnectAllAsync(senders, i => $"hi{i / BenchSettings.RoomSize}");
        variant.Members = ConnectionIdMaker.Make(prefix + "-bc", settings.HistoryBroadcast);
        await variant.Driver.ConnectAllAsync(variant.Members, _ => HistoryRoom);
        await CheckMembersAsync(variant.Driver, HistoryRoom, variant.Members.Length);
        variant.Bodies = [.. senders.Select((id, i) => JsonSerializer.Serialize(new
        {
            connection_id = id,
            body = new { action = "sendmessage", room = $"hi{i / BenchSettings.RoomSize}", message = new { text = "hello room" } },
        }))];
    }

    /// <summary>
    /// Waits until no post has reached the sink for a second: wrk stops counting at its deadline, and a slow backend
    /// (the cluster shape) still delivers calls it took before that after the run has been counted.
    /// </summary>
    private async Task SinkQuietAsync()
    {
        long seen;
        do
        {
            seen = sink.Posts;
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        while (sink.Posts != seen);
    }

    private static string Describe(Dictionary<string, double> perUnit) => perUnit.Count == 0 ? "none"
        : string.Join(", ", perUnit.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value.ToString("0.00", CultureInfo.InvariantCulture)}"));

    /// <summary>One side of the comparison: its processes and what was measured on it.</summary>
    private sealed class HistoryVariant(
        string name, NodeProcess api, string secret, RedisServer? redis = null, NodeProcess? silo = null, ConnectionMultiplexer? redisClient = null)
        : IAsyncDisposable
    {
        public string Name { get; } = name;
        public NodeProcess Api { get; } = api;
        public RedisServer? Redis { get; } = redis;
        public IntegrationDriver Driver { get; } = new(api.BaseAddress, secret);
        public string[] Members { get; set; } = [];
        public string[] Bodies { get; set; } = [];
        public List<double> Broadcasts { get; } = [];
        public List<double> Ingress { get; } = [];

        /// <summary>Commands per message (per broadcast), over all timed runs.</summary>
        public RedisCounts PerIngressMessage { get; } = new();
        public RedisCounts PerBroadcast { get; } = new();

        /// <summary>Calls per command since Redis started, from <c>INFO commandstats</c> (<c>cmdstat_xadd:calls=12,…</c>).</summary>
        public async Task<Dictionary<string, long>> CommandStatsAsync()
        {
            var calls = new Dictionary<string, long>(StringComparer.Ordinal);
            if (redisClient is null) return calls;
            var info = await redisClient.GetServer(redisClient.GetEndPoints()[0]).InfoAsync("commandstats");
            foreach (var pair in info.SelectMany(group => group))
            {
                var value = pair.Value.Split(',').First(p => p.StartsWith("calls=", StringComparison.Ordinal))["calls=".Length..];
                calls[pair.Key.Replace("cmdstat_", "", StringComparison.Ordinal)] = long.Parse(value, CultureInfo.InvariantCulture);
            }
            return calls;
        }

        /// <summary>Adds one timed run's command counts (our own INFO left out) to <paramref name="counts"/>.</summary>
        public void AddRedis(RedisCounts counts, Dictionary<string, long> before, Dictionary<string, long> after, long units)
        {
            if (redisClient is null) return;
            counts.Add(after.Where(a => a.Key != "info").ToDictionary(a => a.Key, a => a.Value - before.GetValueOrDefault(a.Key), StringComparer.Ordinal), units);
        }

        public async ValueTask DisposeAsync()
        {
            Driver.Dispose();
            await Api.DisposeAsync();
            if (silo is not null) await silo.DisposeAsync();
            if (redisClient is not null) await redisClient.DisposeAsync();
            if (Redis is not null) await Redis.DisposeAsync();
        }
    }

    /// <summary>Redis commands summed over timed runs, and what they were for (messages or broadcasts).</summary>
    private sealed class RedisCounts
    {
        private readonly Dictionary<string, long> _calls = new(StringComparer.Ordinal);
        private long _units;

        public void Add(Dictionary<string, long> calls, long units)
        {
            foreach (var (command, count) in calls) _calls[command] = _calls.GetValueOrDefault(command) + count;
            _units += units;
        }

        /// <summary>Commands per unit, by command, leaving out those never called.</summary>
        public Dictionary<string, double> PerUnit => _calls.Where(c => c.Value > 0)
            .ToDictionary(c => c.Key, c => c.Value / (double)Math.Max(1, _units), StringComparer.Ordinal);
    }
}

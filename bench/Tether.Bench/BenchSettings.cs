using System.Globalization;

namespace Tether.Bench;

/// <summary>Command-line settings. <c>--smoke</c> is the small CI run: every phase, tiny sizes, no timing claims.</summary>
internal sealed record BenchSettings(
    bool Smoke,
    int[] BroadcastSizes,
    int Repeats,
    int Concurrency,
    int IngressRooms,
    int IngressSeconds,
    int MemoryConnections,
    int LatencyRate,
    int LatencySeconds,
    int SeedConnections,
    string? SeedDirectory,
    string Configuration,
    bool GcDump,
    string[] Only,
    int ClusterConnections,
    int[] ClusterJoinSizes,
    int ClusterSilos,
    int? ClusterShardThreshold,
    int? ClusterInitialShards,
    int HistoryBroadcast,
    int QuotaLimit,
    int QuotaRooms,
    double QuotaRate,
    int QuotaSeconds)
{
    public const int RoomSize = 10;

    public static BenchSettings Parse(string[] args)
    {
        var smoke = args.Contains("--smoke");
        string? Value(string name)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        }
        int Int(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        var sizes = Value("--sizes")?.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
            ?? (smoke ? [200, 1000] : [1000, 10_000, 100_000]);
        var seedConnections = Int("--seed-connections", 1000 > sizes.Max() ? sizes.Max() : 1000);
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release" : "Debug";

        return new BenchSettings(
            smoke,
            sizes,
            Int("--repeats", smoke ? 1 : 3),
            Int("--concurrency", 128),
            Int("--ingress-rooms", smoke ? 10 : 100),
            Int("--ingress-seconds", smoke ? 2 : 10),
            Int("--memory-connections", smoke ? 2000 : 100_000),
            Int("--latency-rate", smoke ? 20 : 40),
            Int("--latency-seconds", smoke ? 2 : 20),
            seedConnections,
            Value("--seed-dir") ?? DefaultSeedDirectory(),
            configuration,
            args.Contains("--gcdump"),
            Value("--only")?.Split(',') ?? [],
            Int("--cluster-connections", smoke ? 600 : 10_000),
            // Join cost by room size (issue 17): each into a room of its own, besides the broadcast room's registration.
            Value("--cluster-join-sizes")?.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
                ?? (smoke ? [200] : [1000, 100_000]),
            Int("--cluster-silos", 3),
            // Smoke: a small room must still be sharded (production threshold 1,000).
            Value("--cluster-shard-threshold") is { } threshold ? int.Parse(threshold, CultureInfo.InvariantCulture) : smoke ? 100 : null,
            Value("--cluster-initial-shards") is { } shards ? int.Parse(shards, CultureInfo.InvariantCulture) : null,
            Int("--history-broadcast", smoke ? 500 : 10_000),
            // N = 1,000: 3 × N deliveries/s (0.3 × N /handle-event calls/s in rooms of 10) must be within what this
            // shared 2-core machine's ingress takes (about 470 calls/s at load 25); 0.35 messages/s per member offers 3.5 × N.
            Int("--quota-limit", smoke ? 500 : 1000),
            Int("--quota-rooms", smoke ? 10 : 100),
            Value("--quota-rate") is { } rate ? double.Parse(rate, CultureInfo.InvariantCulture) : 0.35,
            Int("--quota-seconds", smoke ? 2 : 10));
    }

    /// <summary>Whether a phase runs (<c>--only broadcast,seed</c> picks some; the default is all).</summary>
    public bool Runs(string phase) => Only.Length == 0 || Only.Contains(phase, StringComparer.OrdinalIgnoreCase);

    public string Describe() =>
        $"{Configuration} build, broadcast sizes {string.Join('/', BroadcastSizes)} x{Repeats}, concurrency {Concurrency}, " +
        $"ingress {IngressRooms} rooms of {RoomSize} for {IngressSeconds} s, memory at {MemoryConnections} connections, " +
        $"latency at {LatencyRate} messages/s for {LatencySeconds} s, " +
        $"cluster {ClusterConnections} connections over {ClusterSilos} silos" +
        (ClusterJoinSizes.Length > 0 ? $", join cost into rooms of {string.Join('/', ClusterJoinSizes)}" : "") +
        (ClusterShardThreshold is { } t ? $", shard threshold {t}" : "") +
        (ClusterInitialShards is { } i ? $", {i} initial shards" : "") +
        $", history on/off with a broadcast to {HistoryBroadcast}" +
        $", quota {QuotaLimit} posts/s with {QuotaRooms} rooms of {RoomSize} each member sending {QuotaRate} messages/s for {QuotaSeconds} s" +
        (Smoke ? " (smoke)" : "");

    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Orleans.sln not found above the benchmark's output folder.");
    }

    private static string? DefaultSeedDirectory()
    {
        var candidate = Path.GetFullPath(Path.Combine(FindRepositoryRoot(), "..", "shared", "peers", "seed-node"));
        return File.Exists(Path.Combine(candidate, "index.js")) ? candidate : null;
    }
}

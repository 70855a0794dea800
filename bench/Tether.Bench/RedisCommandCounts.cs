using System.Globalization;
using StackExchange.Redis;

namespace Tether.Bench;

/// <summary>
/// Redis's own count of the commands it ran, by command (<c>INFO commandstats</c>): read before and after a phase, the
/// difference is that phase's round trips (a MULTI/EXEC or script counts each command inside it too), and
/// <c>total_net_input_bytes</c> (<see cref="BytesIn"/>) what was sent to Redis, so what the writes cost.
/// </summary>
internal static class RedisCommandCounts
{
    /// <summary>The key under which <see cref="ReadAsync"/> reports the bytes Redis has received.</summary>
    public const string BytesIn = "bytes in";

    public static async Task<Dictionary<string, long>> ReadAsync(string connectionString)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(connectionString + ",allowAdmin=true");
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var stats = (await server.InfoAsync("stats")).SelectMany(g => g).FirstOrDefault(p => p.Key == "total_net_input_bytes");
        counts[BytesIn] = long.Parse(stats.Value ?? "0", CultureInfo.InvariantCulture);
        foreach (var group in await server.InfoAsync("commandstats"))
        {
            foreach (var (key, value) in group)
            {
                var calls = value.Split(',').FirstOrDefault(p => p.StartsWith("calls=", StringComparison.Ordinal));
                if (key.StartsWith("cmdstat_", StringComparison.Ordinal) && calls is not null)
                {
                    counts[key["cmdstat_".Length..]] = long.Parse(calls["calls=".Length..], CultureInfo.InvariantCulture);
                }
            }
        }
        return counts;
    }

    /// <summary>Per-unit commands between two readings, largest first: "evalsha 2.00, hset 1.00, …".</summary>
    public static (double Total, string Breakdown) PerUnit(Dictionary<string, long> before, Dictionary<string, long> after, int units)
    {
        var deltas = after.Select(p => (Command: p.Key, Count: p.Value - before.GetValueOrDefault(p.Key)))
            .Where(d => d.Count > 0 && d.Command is not ("info" or BytesIn)).OrderByDescending(d => d.Count).ToList();
        var breakdown = string.Join(", ", deltas.Select(d => $"{d.Command} {d.Count / (double)units:0.00}"));
        return (deltas.Sum(d => d.Count) / (double)units, breakdown);
    }

    public static double BytesInPerUnit(Dictionary<string, long> before, Dictionary<string, long> after, int units) =>
        (after.GetValueOrDefault(BytesIn) - before.GetValueOrDefault(BytesIn)) / (double)units;
}

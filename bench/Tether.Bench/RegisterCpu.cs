using System.Globalization;
using StackExchange.Redis;
using Tether.Testing;

namespace Tether.Bench;

/// <summary>
/// CPU time (<c>/proc/{pid}/stat</c>) of each process of the cluster shape over a registration, per <c>/connect</c>:
/// the silos, the API, <c>redis-server</c> and the benchmark itself (driver and sink). On a shared machine the rate
/// follows the load; the CPU spent per <c>/connect</c> hardly does.
/// </summary>
internal static class RegisterCpu
{
    public static async Task<List<(string Name, int Pid)>> ProcessesAsync(NodeProcess api, IEnumerable<(string Name, int Pid)> silos, string redisConnection)
    {
        var processes = silos.ToList();
        processes.Add(("api", api.Id));
        processes.Add(("redis", await RedisPidAsync(redisConnection)));
        processes.Add(("bench", Environment.ProcessId));
        return processes;
    }

    public static double[] Read(List<(string Name, int Pid)> processes) => [.. processes.Select(p => ProcessCpu.Seconds(p.Pid))];

    public static double TotalMicroseconds(double[] before, double[] after, int connects) =>
        after.Zip(before, (a, b) => a - b).Sum() * 1e6 / connects;

    /// <summary>"silo0 340 µs, silo1 …, api 140 µs, redis 60 µs, bench 50 µs; silos together 1,020 µs".</summary>
    public static string Breakdown(List<(string Name, int Pid)> processes, double[] before, double[] after, int connects)
    {
        var each = processes.Select((p, i) => (p.Name, Micros: (after[i] - before[i]) * 1e6 / connects)).ToList();
        var silos = each.Where(e => e.Name.StartsWith("silo", StringComparison.Ordinal)).Sum(e => e.Micros);
        return string.Join(", ", each.Select(e => $"{e.Name} {e.Micros:N0} µs")) + $"; silos together {silos:N0} µs (/proc/<pid>/stat, user + system)";
    }

    private static async Task<int> RedisPidAsync(string connectionString)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(connectionString + ",allowAdmin=true");
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var pid = (await server.InfoAsync("server")).SelectMany(g => g).First(p => p.Key == "process_id").Value;
        return int.Parse(pid, CultureInfo.InvariantCulture);
    }
}

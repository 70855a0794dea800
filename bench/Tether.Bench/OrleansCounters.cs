using System.Globalization;

namespace Tether.Bench;

/// <summary>
/// Orleans' own counters (meter <c>Microsoft.Orleans</c>, read from each silo's Prometheus endpoint and summed over the
/// silos): read before and after a registration, they say what Orleans did per <c>/connect</c> — messages between
/// processes, activations, directory traffic — independently of the machine's load.
/// </summary>
internal static class OrleansCounters
{
    public static async Task<Dictionary<string, double>> ReadAsync(HttpClient http, IEnumerable<Uri> silos, string apiKey)
    {
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var silo in silos)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(silo, "/metrics"));
            request.Headers.Add("X-Api-Key", apiKey);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
            {
                // e.g. orleans_messaging_sent_messages_size_bytes_count{otel_scope_name="Microsoft.Orleans",…} 1250 1764000000000
                if (!line.StartsWith("orleans_", StringComparison.Ordinal)) continue;
                var nameEnd = line.IndexOfAny(['{', ' ']);
                var name = line[..nameEnd];
                if (!name.EndsWith("_total", StringComparison.Ordinal) && !name.EndsWith("_count", StringComparison.Ordinal)) continue;
                var rest = line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ');
                if (!double.TryParse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) continue;
                totals[name] = totals.GetValueOrDefault(name) + value;
            }
        }
        return totals;
    }

    /// <summary>"orleans_messaging_sent_messages_size_bytes_count 7.10, …": counters that moved by at least 0.05 per unit, largest first.</summary>
    public static string PerUnit(Dictionary<string, double> before, Dictionary<string, double> after, int units) =>
        string.Join(", ", after.Select(p => (p.Key, Delta: (p.Value - before.GetValueOrDefault(p.Key)) / units))
            .Where(d => d.Delta >= 0.05).OrderByDescending(d => d.Delta).Select(d => $"{d.Key} {d.Delta:0.00}"));
}

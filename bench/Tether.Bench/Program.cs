using System.Diagnostics;
using System.Globalization;
using Amazon.Runtime;
using Tether.Bench;
using Tether.Testing;

// The fan-out benchmark. One run measures our backend, the bare limit and the seed side by side on
// loopback, against the same sink, and prints one table. See docs/performance.md for the command and results.
if (args.Length > 0 && args[0] == BareWorker.Mode) return await BareWorker.RunAsync(args);

var settings = BenchSettings.Parse(args);
var repo = BenchSettings.FindRepositoryRoot();
var report = new Report(settings);

await using var sink = await ManagementApiSink.StartAsync();
var connectionUrl = new Uri(sink.BaseAddress, "bench");
var credentials = new BasicAWSCredentials("AKIDTETHERBENCH0000", "bench-secret-access-key-not-for-aws");
Report.Line($"sink {sink.BaseAddress}, {Environment.ProcessorCount} cores, {settings.Describe()}");

await using var bare = BareWorker.Start(connectionUrl, settings.Concurrency, credentials);
var phases = new Phases(settings, repo, sink, connectionUrl, credentials, report, bare);
try
{
    if (settings.Runs("broadcast")) await phases.BroadcastAsync();
    if (settings.Runs("ingress")) await phases.IngressAsync();
    if (settings.Runs("hooks")) await phases.HooksAsync();
    if (settings.Runs("latency")) await phases.LatencyAsync();
    if (settings.Runs("memory")) await phases.MemoryAsync();
    if (settings.Runs("seed")) await phases.SeedAsync();
    if (settings.Runs("history")) await phases.HistoryAsync();
    // Its smoke size takes about 30 s (two backends, and backlogs draining at a quota), too long for every CI run.
    if (settings.Runs("quota") && (!settings.Smoke || settings.Only.Length > 0)) await phases.QuotaAsync();
    if (settings.Runs("cluster")) await new ClusterPhase(settings, repo, sink, connectionUrl, credentials, report).RunAsync();
}
finally
{
    report.Print();
}
return report.Failed ? 1 : 0;

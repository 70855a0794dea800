using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Tether.Delivery;

namespace Tether.Bench;

/// <summary>
/// Issue 16 point 5: fan-out under API Gateway's quota. The sink accepts N posts/s (429 <c>LimitExceededException</c>
/// with <c>Retry-After</c> beyond) and takes 20 ms ± 5 ms per post; 100 rooms of 10, every member sending at a steady
/// rate whose deliveries exceed N. Side by side: ours with <c>batch=1</c> connections, ours without, and the bare
/// per-message poster. Each variant sends for the same time, then runs until every delivery has arrived (or stalled).
/// </summary>
internal sealed partial class Phases
{
    private static readonly TimeSpan QuotaPostLatency = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan QuotaPostJitter = TimeSpan.FromMilliseconds(5);
    // A backlog drains at N posts/s; past this much silence the variant has stalled, and what arrived is reported.
    private static readonly TimeSpan QuotaStall = TimeSpan.FromSeconds(15);
    private const int QuotaSendersInFlight = 64;

    public async Task QuotaAsync()
    {
        var members = settings.QuotaRooms * BenchSettings.RoomSize;
        var messagesPerSecond = members * settings.QuotaRate;
        Report.Line($"quota: sink limit {settings.QuotaLimit} posts/s, {QuotaPostLatency.TotalMilliseconds:N0} ± {QuotaPostJitter.TotalMilliseconds:N0} ms per post; " +
            $"{messagesPerSecond:N0} messages/s offered = {messagesPerSecond * BenchSettings.RoomSize:N0} deliveries/s for {settings.QuotaSeconds} s");
        sink.Limit = settings.QuotaLimit;
        sink.Latency = QuotaPostLatency;
        sink.Jitter = QuotaPostJitter;
        sink.RetryAfterSeconds = 1;
        try
        {
            await QuotaOursAsync(batch: true);
            await QuotaOursAsync(batch: false);
            await QuotaBareAsync();
        }
        finally
        {
            sink.Delivered = null;
            sink.Limit = 0;
            sink.Latency = TimeSpan.Zero;
            sink.Jitter = TimeSpan.Zero;
        }
    }

    private async Task QuotaOursAsync(bool batch)
    {
        var name = batch ? "ours, batch=1" : "ours, one envelope per post";
        await using var backend = await StartOursAsync(new Dictionary<string, string>
        {
            // The account's quota as the budget: what an operator would configure; the product's posts in flight.
            ["Delivery__MaxPostsPerSecond"] = settings.QuotaLimit.ToString(CultureInfo.InvariantCulture),
            ["Delivery__MaxConcurrency"] = DeliveryOptions.DefaultMaxConcurrency.ToString(CultureInfo.InvariantCulture),
            // New batch=1 connections are seen by the dispatcher within this; the phase waits it out before sending.
            ["Delivery__BatchRegistryRefresh"] = "00:00:01",
        });
        using var driver = new IntegrationDriver(backend.BaseAddress, Secret);
        var ids = ConnectionIdMaker.Make(batch ? "quota-batch" : "quota-single", settings.QuotaRooms * BenchSettings.RoomSize);
        var next = -1;
        async Task ConnectAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < ids.Length)
            {
                await driver.PostAsync("/connect", new { connection_id = ids[i], rooms = new[] { QuotaRoom(i) }, batch });
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => ConnectAsync()));
        await Task.Delay(TimeSpan.FromSeconds(2));

        using var recorder = new QuotaRecorder(sink);
        using var rss = new PeakResident(backend.Id);
        var accepted = new ConcurrentBag<string>();
        var rejected = 0;
        using var inFlight = new SemaphoreSlim(QuotaSendersInFlight);
        var sends = new List<Task>();
        var members = ids.Length;
        var messages = (long)(members * settings.QuotaRate * settings.QuotaSeconds);
        var interval = Stopwatch.Frequency / (members * settings.QuotaRate);
        var started = Stopwatch.GetTimestamp();
        for (long i = 0; i < messages; i++)
        {
            var wait = started + (long)(i * interval) - Stopwatch.GetTimestamp();
            if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
            await inFlight.WaitAsync();
            var sender = (int)(i % members);
            var key = $"m{i}";
            var json = $$"""{"connection_id":"{{ids[sender]}}","body":{"action":"sendmessage","room":"{{QuotaRoom(sender)}}","message":""" +
                QuotaMessage.Body(Stopwatch.GetTimestamp(), key) + "}}";
            sends.Add(SendAsync(json, key));
        }
        var sentFor = Stopwatch.GetElapsedTime(started);
        await Task.WhenAll(sends);

        async Task SendAsync(string json, string key)
        {
            try
            {
                await driver.SendAsync(HttpMethod.Post, "/handle-event", json);
                accepted.Add(key);
            }
            catch (InvalidOperationException)
            {
                Interlocked.Increment(ref rejected);
            }
            finally
            {
                inFlight.Release();
            }
        }

        await recorder.WaitAsync(accepted.Count * (long)BenchSettings.RoomSize);
        QuotaRows(name, recorder, rss.Peak, started, messages, sentFor,
            $"{accepted.Count:N0} of {messages:N0} /handle-event calls accepted ({rejected:N0} refused)",
            [.. accepted], lost: 0);
    }

    private async Task QuotaBareAsync()
    {
        var ids = ConnectionIdMaker.Make("quota-bare", settings.QuotaRooms * BenchSettings.RoomSize);
        using var recorder = new QuotaRecorder(sink);
        using var rss = new PeakResident(bareWorker.Id);
        var started = Stopwatch.GetTimestamp();
        var outcome = await bareWorker.PacedAsync(ids, BenchSettings.RoomSize, settings.QuotaRate, settings.QuotaSeconds);
        var keys = Enumerable.Range(0, (int)outcome.Messages).Select(i => $"b{i}").ToArray();
        QuotaRows("bare per-message poster", recorder, rss.Peak, started, outcome.Messages, TimeSpan.FromSeconds(settings.QuotaSeconds),
            $"{settings.Concurrency} posts in flight, a 429 retried after Retry-After, {outcome.Lost:N0} posts given up after 3 attempts",
            keys, outcome.Lost);
    }

    private void QuotaRows(string name, QuotaRecorder recorder, long peakRss, long started, long messages, TimeSpan sentFor, string sendNote, string[] accepted, long lost)
    {
        var (unique, duplicates, latencies, last) = recorder.Snapshot(accepted);
        var window = (last - started) / (double)Stopwatch.Frequency;
        var expected = accepted.Length * (long)BenchSettings.RoomSize;
        var posts = sink.Posts;
        var throttled = sink.ThrottledPosts;
        var limit = settings.QuotaLimit;
        var p = latencies.Order().ToArray();
        double Percentile(double q) => p.Length == 0 ? double.NaN : p[Math.Min(p.Length - 1, (int)(p.Length * q))];

        report.Row($"quota, {name}: deliveries/s", Report.Number(unique / window),
            $"{unique:N0} deliveries in {window:N1} s from first send to last delivery = {unique / window / limit:0.00} × the limit; {messages:N0} messages sent in {sentFor.TotalSeconds:N1} s, {sendNote}");
        report.Row($"quota, {name}: posts/s accepted", Report.Number(posts / window),
            $"{posts:N0} posts = {posts / window / limit:P0} of the limit; {(posts == 0 ? 0 : unique / (double)posts):0.0} deliveries per post");
        report.Row($"quota, {name}: share of 429s", $"{(posts + throttled == 0 ? 0 : throttled / (double)(posts + throttled)):P2}", $"{throttled:N0} posts answered 429");
        report.Row($"quota, {name}: send-to-delivery p50 / p99", $"{Percentile(0.5):N0} ms / {Percentile(0.99):N0} ms", "send time inside the message, sink's clock at acceptance");
        report.Row($"quota, {name}: peak resident memory", $"{peakRss / 1048576.0:N0} MB", name.StartsWith("bare", StringComparison.Ordinal) ? "the bare poster's process" : "our process");
        var missing = expected - unique;
        report.Row($"quota, {name}: exactly once", missing == 0 && duplicates == 0 ? "yes" : $"{missing:N0} missing, {duplicates:N0} duplicated",
            $"{expected:N0} deliveries expected" + (lost > 0 ? $", {lost:N0} given up by the poster" : ""));
        if (!name.StartsWith("bare", StringComparison.Ordinal) && (missing != 0 || duplicates != 0))
        {
            report.Fail($"quota, {name}: {missing} deliveries missing, {duplicates} duplicated");
        }
    }

    private static string QuotaRoom(int member) => $"q{member / BenchSettings.RoomSize}";

    /// <summary>Reads every accepted post's messages as the sink accepts them: latency, and who got which message how often.</summary>
    private sealed class QuotaRecorder : IDisposable
    {
        private readonly Tether.Testing.ManagementApiSink _sink;
        private readonly Lock _lock = new();
        private readonly Dictionary<(string Id, string Key), int> _seen = [];
        private readonly List<(string Key, double Ms)> _latencies = [];
        private long _deliveries;
        private long _last;

        public QuotaRecorder(Tether.Testing.ManagementApiSink sink)
        {
            _sink = sink;
            sink.Reset(long.MaxValue);
            sink.Delivered = Record;
        }

        private void Record(string id, byte[] body, long at)
        {
            lock (_lock)
            {
                foreach (var (sentAt, key) in QuotaMessage.Read(body))
                {
                    Count(id, key);
                    _latencies.Add((key, (at - sentAt) * 1000.0 / Stopwatch.Frequency));
                    _deliveries++;
                }
                _last = at;
            }
        }

        private void Count(string id, string key) => _seen[(id, key)] = _seen.GetValueOrDefault((id, key)) + 1;

        /// <summary>Until <paramref name="expected"/> deliveries have arrived, or none has for <see cref="QuotaStall"/>.</summary>
        public async Task WaitAsync(long expected)
        {
            var seen = -1L;
            var quietSince = Stopwatch.GetTimestamp();
            while (true)
            {
                long now;
                lock (_lock) now = _deliveries;
                if (now >= expected) return;
                if (now != seen)
                {
                    seen = now;
                    quietSince = Stopwatch.GetTimestamp();
                }
                else if (Stopwatch.GetElapsedTime(quietSince) > QuotaStall)
                {
                    return;
                }
                await Task.Delay(250);
            }
        }

        public (long Unique, long Duplicates, List<double> Latencies, long Last) Snapshot(string[] accepted)
        {
            var keys = accepted.ToHashSet(StringComparer.Ordinal);
            lock (_lock)
            {
                var unique = _seen.Keys.LongCount(k => keys.Contains(k.Key));
                var duplicates = _seen.Values.Sum(n => (long)(n - 1));
                return (unique, duplicates, [.. _latencies.Where(l => keys.Contains(l.Key)).Select(l => l.Ms)], _last);
            }
        }

        public void Dispose() => _sink.Delivered = null;
    }

    /// <summary>The highest resident size of a process, read every 250 ms while this lives.</summary>
    private sealed class PeakResident : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampling;
        private long _peak;

        public PeakResident(int pid) => _sampling = SampleAsync(pid);

        public long Peak
        {
            get
            {
                _stop.Cancel();
                _sampling.GetAwaiter().GetResult();
                return _peak;
            }
        }

        private async Task SampleAsync(int pid)
        {
            while (!_stop.IsCancellationRequested)
            {
                _peak = Math.Max(_peak, Resident(pid));
                try
                {
                    await Task.Delay(250, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        private static long Resident(int pid)
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
            return 0;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }
}

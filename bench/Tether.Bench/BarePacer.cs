using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Amazon.Runtime;

namespace Tether.Bench;

/// <summary>
/// The quota phase's bare per-message poster: rooms of members each sending at a steady rate, every message posted
/// to each member of its room, one post per message per recipient, <c>concurrency</c> posts in flight. What a backend
/// that learns the quota from 429s does: a 429 is retried after its <c>Retry-After</c>, three attempts in all (the AWS
/// SDK's standard retry count), then the post is given up and counted lost.
/// </summary>
internal static class BarePacer
{
    private const int Attempts = 3;

    public sealed record Outcome(long Messages, long Posts, long Throttled, long Lost, double Seconds)
    {
        public string Format() => string.Join(' ', new object[] { Messages, Posts, Throttled, Lost, Seconds.ToString("R", CultureInfo.InvariantCulture) }
            .Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));

        public static Outcome Parse(string text)
        {
            var f = text.Split(' ');
            return new Outcome(long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
                long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture), double.Parse(f[4], CultureInfo.InvariantCulture));
        }
    }

    public static async Task<Outcome> RunAsync(
        Uri connectionUrl, IReadOnlyList<string> ids, int roomSize, double ratePerMember, double seconds, int concurrency, AWSCredentials credentials)
    {
        var prefix = connectionUrl.ToString().TrimEnd('/') + "/@connections/";
        var posts = Channel.CreateUnbounded<(Uri Uri, byte[] Payload, string Sha)>(new UnboundedChannelOptions { SingleWriter = true });
        long posted = 0, throttled = 0, lost = 0;

        async Task WorkAsync()
        {
            await foreach (var (uri, payload, sha) in posts.Reader.ReadAllAsync())
            {
                for (var attempt = 1; ; attempt++)
                {
                    using var response = await BareClient.SignedPostAsync(uri, payload, sha, credentials);
                    if (response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref posted);
                        break;
                    }
                    if (response.StatusCode != HttpStatusCode.TooManyRequests) throw new InvalidOperationException($"bare poster: {(int)response.StatusCode}");
                    Interlocked.Increment(ref throttled);
                    if (attempt == Attempts)
                    {
                        Interlocked.Increment(ref lost);
                        break;
                    }
                    await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                }
            }
        }

        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkAsync)).ToArray();
        var messages = (long)(ids.Count * ratePerMember * seconds);
        var interval = Stopwatch.Frequency / (ids.Count * ratePerMember);
        for (long i = 0; i < messages; i++)
        {
            // Paced from the start, so a late tick sends what fell due meanwhile; members take turns.
            var wait = started + (long)(i * interval) - Stopwatch.GetTimestamp();
            if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
            var sender = (int)(i % ids.Count);
            var room = sender / roomSize;
            var payload = Encoding.UTF8.GetBytes(QuotaMessage.Envelope($"q{room}", ids[sender], Stopwatch.GetTimestamp(), $"b{i}"));
            var sha = Convert.ToHexStringLower(SHA256.HashData(payload));
            for (var m = room * roomSize; m < (room + 1) * roomSize; m++)
            {
                posts.Writer.TryWrite((new Uri(prefix + Uri.EscapeDataString(ids[m])), payload, sha));
            }
        }
        posts.Writer.Complete();
        await Task.WhenAll(workers);
        return new Outcome(messages, posted, throttled, lost, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tether.Testing;

/// <summary>
/// A fast stand-in for the Management API on loopback: answers every signed <c>POST {stage}/@connections/{id}</c>
/// with 200 and counts posts per connection id, so a caller can wait for its N-th delivery and check that each
/// recipient got exactly what it should. It does not verify signatures (the emulated Management API does);
/// it refuses unsigned posts so a misconfigured backend cannot look fast. Like API Gateway it can enforce a post quota
/// (<see cref="Limit"/>: 429 <c>LimitExceededException</c> with <c>Retry-After</c>), answer only 429 (a storm), take time
/// per post, keep what each connection received, and be down (500 to every post).
/// </summary>
public sealed class ManagementApiSink : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private long _posts;
    private long _unsigned;
    private long _target = long.MaxValue;
    private long _lastPostTicks;
    private long _firstPostTicks;
    private TaskCompletionSource<long> _reached = NewSignal();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _watched = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _bodies = new(StringComparer.Ordinal);
    private readonly Lock _quotaLock = new();
    private double _quotaTokens = double.NaN;
    private long _quotaRefilledAt;
    private long _throttled;
    private long _refused;

    private ManagementApiSink(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public long Posts => Interlocked.Read(ref _posts);

    public long UnsignedPosts => Interlocked.Read(ref _unsigned);

    public IReadOnlyDictionary<string, int> Hits => _hits;

    /// <summary>Posts answered 429 (not counted in <see cref="Posts"/>).</summary>
    public long ThrottledPosts => Interlocked.Read(ref _throttled);

    /// <summary>Posts per second accepted (a token bucket holding one second of posts); beyond, 429. 0: no limit.</summary>
    public double Limit { get; set; }

    /// <summary>The <c>Retry-After</c> (whole seconds) sent with a 429; null: none.</summary>
    public int? RetryAfterSeconds { get; set; } = 1;

    /// <summary>Every post is answered 429 while set: a throttling storm.</summary>
    public bool ThrottleAll { get; set; }

    /// <summary>Every post is answered 500 <c>InternalServerErrorException</c> while set: the endpoint is down.</summary>
    public bool Down { get; set; }

    /// <summary>Posts answered 500 while <see cref="Down"/> (not counted in <see cref="Posts"/>).</summary>
    public long RefusedPosts => Interlocked.Read(ref _refused);

    /// <summary>Time taken per post, plus up to <see cref="Jitter"/> either side.</summary>
    public TimeSpan Latency { get; set; }

    public TimeSpan Jitter { get; set; }

    /// <summary>Whether the body of each delivered post is kept (see <see cref="Bodies"/>).</summary>
    public bool KeepBodies { get; set; }

    /// <summary>
    /// Called for every accepted post with the connection id, the body and the <see cref="Stopwatch"/> timestamp, on the
    /// request's thread (so it must be quick and thread-safe): lets a benchmark read what each post carried as it arrives.
    /// </summary>
    public Action<string, byte[], long>? Delivered { get; set; }

    /// <summary>The bodies delivered to <paramref name="connectionId"/>, in the order they arrived.</summary>
    public IReadOnlyList<string> Bodies(string connectionId) =>
        _bodies.TryGetValue(connectionId, out var bodies) ? [.. bodies] : [];

    public static async Task<ManagementApiSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, 0);
            k.Limits.MaxConcurrentConnections = null;
        });
        var app = builder.Build();
        var sink = new ManagementApiSink(app);
        app.Run(sink.HandleAsync);
        await app.StartAsync();
        sink.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return sink;
    }

    /// <summary>Zeroes the counters and arms the signal for the <paramref name="target"/>-th post.</summary>
    public void Reset(long target)
    {
        _hits.Clear();
        _bodies.Clear();
        Interlocked.Exchange(ref _throttled, 0);
        Interlocked.Exchange(ref _posts, 0);
        Interlocked.Exchange(ref _unsigned, 0);
        Interlocked.Exchange(ref _firstPostTicks, 0);
        _reached = NewSignal();
        Interlocked.Exchange(ref _target, target);
    }

    /// <summary>Completes with the <see cref="Stopwatch"/> timestamp of the post that reached the target.</summary>
    public async Task<long> WaitForTargetAsync(TimeSpan timeout)
    {
        var reached = _reached.Task;
        if (await Task.WhenAny(reached, Task.Delay(timeout)) != reached)
        {
            throw new TimeoutException($"sink: {Posts} of {Interlocked.Read(ref _target)} posts after {timeout.TotalSeconds:0} s");
        }
        return await reached;
    }

    /// <summary>Completes with the timestamp of the next post to <paramref name="connectionId"/>.</summary>
    public Task<long> WatchAsync(string connectionId) =>
        _watched.GetOrAdd(connectionId, static _ => NewSignal()).Task;

    /// <summary>The timestamp of the first post since <see cref="Reset"/> (0: none yet).</summary>
    public long FirstPostTimestamp => Interlocked.Read(ref _firstPostTicks);

    /// <summary>The timestamp of the latest post (for phases that have no fixed target).</summary>
    public long LastPostTimestamp => Interlocked.Read(ref _lastPostTicks);

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        var at = path.IndexOf("/@connections/", StringComparison.Ordinal);
        if (at < 0)
        {
            context.Response.StatusCode = 404;
            return;
        }

        // Read the body as API Gateway would, so a post costs what it costs.
        var delivered = Delivered;
        var body = KeepBodies || delivered is not null ? new MemoryStream() : null;
        var buffer = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(buffer)) > 0) body?.Write(buffer, 0, read);
        if (Latency > TimeSpan.Zero)
        {
            var jitter = Jitter > TimeSpan.Zero ? (Random.Shared.NextDouble() * 2 - 1) * Jitter.TotalMilliseconds : 0;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, Latency.TotalMilliseconds + jitter)));
        }

        if (!request.Headers.Authorization.ToString().StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _unsigned);
            context.Response.StatusCode = 403;
            context.Response.Headers["x-amzn-ErrorType"] = "ForbiddenException";
            return;
        }

        if (HttpMethods.IsPost(request.Method))
        {
            if (Down)
            {
                Interlocked.Increment(ref _refused);
                context.Response.StatusCode = 500;
                context.Response.Headers["x-amzn-ErrorType"] = "InternalServerErrorException";
                await context.Response.WriteAsync("""{"message":"Internal server error"}""");
                return;
            }
            if (!TakeQuota())
            {
                Interlocked.Increment(ref _throttled);
                context.Response.StatusCode = 429;
                context.Response.Headers["x-amzn-ErrorType"] = "LimitExceededException";
                if (RetryAfterSeconds is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await context.Response.WriteAsync("""{"message":"Rate exceeded"}""");
                return;
            }
            var id = Uri.UnescapeDataString(path[(at + "/@connections/".Length)..]);
            if (KeepBodies && body is not null) _bodies.GetOrAdd(id, static _ => new()).Enqueue(System.Text.Encoding.UTF8.GetString(body.ToArray()));
            _hits.AddOrUpdate(id, 1, static (_, n) => n + 1);
            var now = Stopwatch.GetTimestamp();
            if (delivered is not null && body is not null) delivered(id, body.ToArray(), now);
            if (!_watched.IsEmpty && _watched.TryRemove(id, out var watcher)) watcher.TrySetResult(now);
            Interlocked.Exchange(ref _lastPostTicks, now);
            Interlocked.CompareExchange(ref _firstPostTicks, now, 0);
            if (Interlocked.Increment(ref _posts) == Interlocked.Read(ref _target)) _reached.TrySetResult(now);
        }
        else if (HttpMethods.IsGet(request.Method))
        {
            var now = DateTime.UtcNow.ToString("o", System.Globalization.CultureInfo.InvariantCulture);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(
                $$"""{"connectedAt":"{{now}}","identity":{"sourceIp":"127.0.0.1","userAgent":"bench"},"lastActiveAt":"{{now}}"}""");
            return;
        }
        else if (HttpMethods.IsDelete(request.Method))
        {
            context.Response.StatusCode = 204;
            return;
        }
        context.Response.StatusCode = 200;
    }

    private bool TakeQuota()
    {
        if (ThrottleAll) return false;
        var limit = Limit;
        if (limit <= 0) return true;
        lock (_quotaLock)
        {
            var now = Stopwatch.GetTimestamp();
            _quotaTokens = double.IsNaN(_quotaTokens)
                ? limit
                : Math.Min(limit, _quotaTokens + Stopwatch.GetElapsedTime(_quotaRefilledAt, now).TotalSeconds * limit);
            _quotaRefilledAt = now;
            if (_quotaTokens < 1) return false;
            _quotaTokens -= 1;
            return true;
        }
    }

    private static TaskCompletionSource<long> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

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
/// it refuses unsigned posts so a misconfigured backend cannot look fast.
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

    private ManagementApiSink(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public long Posts => Interlocked.Read(ref _posts);

    public long UnsignedPosts => Interlocked.Read(ref _unsigned);

    public IReadOnlyDictionary<string, int> Hits => _hits;

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
        var buffer = new byte[4096];
        while (await request.Body.ReadAsync(buffer) > 0)
        {
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
            var id = Uri.UnescapeDataString(path[(at + "/@connections/".Length)..]);
            _hits.AddOrUpdate(id, 1, static (_, n) => n + 1);
            var now = Stopwatch.GetTimestamp();
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

    private static TaskCompletionSource<long> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Net;
using Tether.Testing;

namespace Tether.Bench;

/// <summary>
/// An application whose publish hook answers <c>200 {}</c> after a fixed delay, and measures its own time per call,
/// so the hooks phase can subtract it. Lean on purpose: it shares the machine with the backend.
/// </summary>
internal sealed class BenchHookApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _calls;
    private long _ticks;

    private BenchHookApp(WebApplication app, Uri publishUrl)
    {
        _app = app;
        PublishUrl = publishUrl;
    }

    public Uri PublishUrl { get; }

    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>The application's own mean time per call, from reading the request to answering.</summary>
    public double MeanMilliseconds => Calls == 0 ? 0 : Interlocked.Read(ref _ticks) * 1000.0 / Stopwatch.Frequency / Calls;

    public static async Task<BenchHookApp> StartAsync(TimeSpan delay)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var hook = new BenchHookApp(app, new Uri($"http://127.0.0.1:{port}/publish"));
        app.MapPost("/publish", async (HttpRequest request) =>
        {
            var started = Stopwatch.GetTimestamp();
            await request.Body.CopyToAsync(Stream.Null);
            await Task.Delay(delay);
            Interlocked.Add(ref hook._ticks, Stopwatch.GetTimestamp() - started);
            Interlocked.Increment(ref hook._calls);
            return Results.Text("{}", "application/json");
        });
        await app.StartAsync();
        return hook;
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _calls, 0);
        Interlocked.Exchange(ref _ticks, 0);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

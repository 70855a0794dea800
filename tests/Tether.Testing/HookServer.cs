using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>
/// A real HTTP application on loopback for the hooks to call: <c>POST /{hook}</c>, every request recorded, answers
/// scripted per hook by the test (default <c>200 {}</c>).
/// </summary>
public sealed class HookServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<HookRequest> _requests = new();
    private readonly ConcurrentDictionary<string, Func<HookRequest, Task<IResult>>> _answers = new(StringComparer.Ordinal);
    private readonly ChangeSignal _signal = new();
    private WebApplication _app = null!;

    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<HookRequest> Requests => [.. _requests];

    public static async Task<HookServer> StartAsync()
    {
        var server = new HookServer();
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        server._app = builder.Build();
        server._app.MapPost("/{hook}", server.AnswerAsync);
        await server._app.StartAsync();
        server.BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        return server;
    }

    /// <summary>How <paramref name="hook"/> answers from now on.</summary>
    public void On(string hook, Func<HookRequest, Task<IResult>> answer) => _answers[hook] = answer;

    public void On(string hook, Func<HookRequest, IResult> answer) => _answers[hook] = r => Task.FromResult(answer(r));

    /// <summary>Every hook answers <c>200 {}</c> again.</summary>
    public void Reset() => _answers.Clear();

    /// <summary>The first request to <paramref name="hook"/> that <paramref name="match"/> accepts, once it has come.</summary>
    public async Task<HookRequest> WaitForAsync(string hook, Func<HookRequest, bool> match)
    {
        HookRequest? found = null;
        await _signal.WaitUntilAsync(() => (found = _requests.FirstOrDefault(r => r.Hook == hook && match(r))) is not null, TestClient.Timeout);
        return found!;
    }

    public IReadOnlyList<HookRequest> For(string hook, string connectionId) =>
        [.. _requests.Where(r => r.Hook == hook && r.Body["connectionId"]?.GetValue<string>() == connectionId)];

    private async Task<IResult> AnswerAsync(string hook, HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        var raw = buffer.ToArray();
        var recorded = new HookRequest(hook, request.Headers["X-Tether-Hook"].ToString(), request.Headers["X-Tether-Signature"].ToString(),
            raw, JsonNode.Parse(raw)!.AsObject());
        _requests.Enqueue(recorded);
        _signal.Notify();
        return _answers.TryGetValue(hook, out var answer) ? await answer(recorded) : Results.Text("{}", "application/json");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>One call the hook server received.</summary>
public sealed record HookRequest(string Hook, string HookHeader, string Signature, byte[] Raw, JsonObject Body)
{
    public string? Str(string field) => Body[field]?.GetValue<string>();
}

using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>An HTTP backend on a loopback socket whose answers each test scripts; it records every request.</summary>
public sealed class ScriptedBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, string Method, JsonObject Body)> _requests = new();
    private readonly ChangeSignal _signal = new();

    private ScriptedBackend(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>Answers a request (path, body); the default answers 200 with <c>{"ok":true}</c>.</summary>
    public Func<string, JsonObject, Task<(int Status, string Body)>> Answer { get; set; } = (_, _) => Task.FromResult((200, "{\"ok\":true}"));

    public IReadOnlyList<(string Path, string Method, JsonObject Body)> Requests => [.. _requests];

    public Task WaitForAsync(Func<IReadOnlyList<(string Path, string Method, JsonObject Body)>, bool> condition) =>
        _signal.WaitUntilAsync(() => condition(Requests), TimeSpan.FromSeconds(30));

    public static async Task<ScriptedBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var backend = new ScriptedBackend(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
            var (status, answer) = await backend.Answer(context.Request.Path.Value!, body);
            backend._requests.Enqueue((context.Request.Path.Value!, context.Request.Method, body));
            backend._signal.Notify();
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer);
        });
        await app.StartAsync();
        backend.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

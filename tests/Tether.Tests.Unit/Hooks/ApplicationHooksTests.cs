using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Tether.Hooks;

namespace Tether.Tests.Hooks;

/// <summary>
/// The HTTP hooks against a real application on loopback, without a cluster: the circuit breaker, the metrics and
/// the one log line per burst of failures.
/// </summary>
public sealed class ApplicationHooksTests : IAsyncLifetime, IDisposable
{
    private readonly ConcurrentQueue<(string Outcome, string Hook)> _calls = new();
    private readonly ListLogger<HookFailureLog> _log = new();
    private readonly MeterListener _listener = new();
    private HookServer _app = null!;
    private ServiceProvider _services = null!;

    private IApplicationHooks Hooks => _services.GetRequiredService<IApplicationHooks>();

    public async Task InitializeAsync()
    {
        _app = await HookServer.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hooks:Secret"] = "unit-hook-secret-0123456789",
            ["Hooks:Publish:Url"] = new Uri(_app.BaseUrl, "publish").ToString(),
            ["Hooks:Join:Url"] = new Uri(_app.BaseUrl, "join").ToString(),
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = Environments.Development });
        services.AddLogging();
        services.AddTetherHooks(configuration);
        services.AddSingleton<ILogger<HookFailureLog>>(_log);
        _services = services.BuildServiceProvider();

        var factory = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "tether.hooks.calls") listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? outcome = null, hook = null;
            foreach (var (key, value) in tags)
            {
                if (key == "outcome") outcome = (string?)value;
                if (key == "hook") hook = (string?)value;
            }
            _calls.Enqueue((outcome!, hook!));
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _app.DisposeAsync();
    }

    private static JsonObject Request() => HookRequests.Publish("abc=", null, "room", null, "\"hi\"", null);

    [Fact]
    public async Task A_failing_application_opens_the_breaker_is_no_longer_called_and_is_logged_once()
    {
        _app.On("publish", _ => Results.StatusCode(500));

        var results = new List<HookResult>();
        for (var i = 0; i < HookClient.BreakerMinimumThroughput + 5; i++)
        {
            results.Add(await Hooks.CallAsync(HookName.Publish, Request(), HookRequests.CheckPublishAnswer));
        }

        Assert.All(results, r => Assert.Equal(("hook_unavailable", 503), (r.Refusal!.Code, r.Refusal.Status)));
        Assert.Equal(HookClient.BreakerMinimumThroughput, _app.Requests.Count);
        Assert.Equal(HookClient.BreakerMinimumThroughput, _calls.Count(c => c == ("error", "publish")));
        Assert.Equal(5, _calls.Count(c => c == ("circuit_open", "publish")));
        var line = Assert.Single(_log.Entries);
        Assert.Contains("publish hook failed (error: HTTP 500)", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_are_answers_not_failures_and_never_open_the_breaker()
    {
        _app.On("join", _ => Results.Json(new { code = "closed", message = "Closed today." }, statusCode: 409));

        for (var i = 0; i < HookClient.BreakerMinimumThroughput * 2; i++)
        {
            var result = await Hooks.CallAsync(HookName.Join, HookRequests.Join("abc=", "u", "r", null), HookRequests.AnyAnswer);
            Assert.Equal((409, "closed", "Closed today."), (result.Refusal!.Status, result.Refusal.Code, result.Refusal.Message));
        }

        Assert.Equal(HookClient.BreakerMinimumThroughput * 2, _app.Requests.Count);
        Assert.All(_calls, c => Assert.Equal(("refused", "join"), c));
        Assert.Empty(_log.Entries);
    }

    [Fact]
    public async Task A_refusal_with_a_code_or_message_that_breaks_the_rules_gets_ours()
    {
        _app.On("join", _ => Results.Text("{\"code\":\"Not A Code\",\"message\":\"line\\nbreak\"}", "application/json", statusCode: 403));

        var result = await Hooks.CallAsync(HookName.Join, HookRequests.Join("abc=", "u", "r", null), HookRequests.AnyAnswer);

        Assert.Equal((403, "join_refused"), (result.Refusal!.Status, result.Refusal.Code));
        Assert.DoesNotContain("\n", result.Refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unconfigured_hook_is_not_called_and_lets_everything_through()
    {
        var result = await Hooks.CallAsync(HookName.Connect, new JsonObject(), _ => "never checked");

        Assert.Same(HookResult.Proceed, result);
        Assert.False(Hooks.IsConfigured(HookName.Connect));
        Assert.Empty(_app.Requests);
    }
}

using System.Globalization;
using System.Text.Json;
using Tether.Testing;

namespace Tether.Bench;

internal sealed partial class Phases
{
    private static readonly TimeSpan HookDelay = TimeSpan.FromMilliseconds(1);
    private const string HookSecret = "bench-hook-secret-0123456789";
    /// <summary>wrk's connections (<c>-c64</c>): with that many calls in flight, a call's mean time is 64 ÷ calls/s.</summary>
    private const int WrkConnections = 64;

    /// <summary>
    /// Ingress (rooms of 10) without a hook and with a publish hook that answers in about 1 ms, both in Development
    /// (the hook is plain http on loopback). The hook's own time is subtracted from the hooked run's mean call time.
    /// </summary>
    public async Task HooksAsync()
    {
        await using var hook = await BenchHookApp.StartAsync(HookDelay);
        var development = new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" };
        var (plain, _, plainCalls) = await HookIngressAsync(development);
        var settingsWithHook = new Dictionary<string, string>(development)
        {
            ["Hooks__Publish__Url"] = hook.PublishUrl.ToString(),
            ["Hooks__Secret"] = HookSecret,
        };
        var (hooked, _, hookedCalls) = await HookIngressAsync(settingsWithHook, hook);

        var hookMs = hook.MeanMilliseconds;
        var adjusted = WrkConnections / (WrkConnections / hooked - hookMs / 1000.0);
        report.Row("hooks: ingress calls/s answered, no hook", Report.Number(plain), $"{plainCalls:N0} calls, Development");
        report.Row("hooks: ingress calls/s answered, publish hook", Report.Number(hooked),
            $"{hookedCalls:N0} calls; {hook.Calls:N0} hook calls, the hook's own time {hookMs:0.00} ms each");
        report.Row("hooks: with ÷ without, hook time subtracted", $"{adjusted / plain:0.00}",
            $"target ≥ 0.80; {WrkConnections} ÷ ({WrkConnections} ÷ with − hook time) ÷ without");
    }

    private async Task<(double Accepted, double Sustained, long Requests)> HookIngressAsync(Dictionary<string, string> environment, BenchHookApp? hook = null)
    {
        await using var backend = await StartOursAsync(environment);
        using var driver = new IntegrationDriver(backend.BaseAddress, Secret);
        var ids = ConnectionIdMaker.Make("hooks", settings.IngressRooms * BenchSettings.RoomSize);
        await driver.ConnectAllAsync(ids, i => $"h{i / BenchSettings.RoomSize}");
        var bodies = ids.Select((id, i) => JsonSerializer.Serialize(new
        {
            connection_id = id,
            body = new { action = "sendmessage", room = $"h{i / BenchSettings.RoomSize}", message = new { text = "hello room" } },
        })).ToArray();
        await WarmIngressAsync(backend, bodies, BenchSettings.RoomSize);
        hook?.Reset();
        var result = await WrkAsync(backend.BaseAddress, bodies, BenchSettings.RoomSize);
        if (hook is not null && hook.Calls < result.Requests)
        {
            report.Fail(string.Create(CultureInfo.InvariantCulture, $"hooks: {hook.Calls} hook calls for {result.Requests} messages"));
        }
        return result;
    }
}

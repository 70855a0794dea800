using Tether.Delivery;

namespace Tether.Tests.Delivery;

/// <summary>How the dispatcher reports 410s to the connections' grains.</summary>
public sealed class GoneReportTests
{
    [Fact]
    public async Task One_slow_410_report_does_not_hold_up_the_others()
    {
        var slowReport = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var gone = new ScriptedGone((id, _) => id == "slow" ? slowReport.Task : Task.FromResult(true));
        var client = new ScriptedOutcomes((_, _) => Task.FromResult(ScriptedOutcomes.Gone));
        await using var dispatcher = await ScriptedOutcomes.StartAsync(client, gone, new DeliveryOptions { MaxConcurrency = 4 });

        try
        {
            dispatcher.Dispatch(ScriptedOutcomes.Message("m1"), "direct", room: null, ["slow"], track: false);
            await ScriptedOutcomes.WaitUntilAsync(() => gone.Reports.Any(r => r.ConnectionId == "slow"), "the slow report is made");
            dispatcher.Dispatch(ScriptedOutcomes.Message("m2"), "direct", room: null, ["other"], track: false);

            // The grain of "slow" has not answered; the other 410 is reported anyway.
            await ScriptedOutcomes.WaitUntilAsync(() => gone.Reports.Any(r => r.ConnectionId == "other"), "the other 410 is reported", TimeSpan.FromSeconds(5));
        }
        finally
        {
            slowReport.TrySetResult(true);
        }
        await dispatcher.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_410_on_a_users_post_is_reported_with_the_user_so_the_user_heals()
    {
        var gone = new ScriptedGone((_, _) => Task.FromResult(true));
        var client = new ScriptedOutcomes((_, _) => Task.FromResult(ScriptedOutcomes.Gone));
        await using var dispatcher = await ScriptedOutcomes.StartAsync(client, gone, new DeliveryOptions { MaxConcurrency = 4 });

        dispatcher.Dispatch(ScriptedOutcomes.Message("m"), "direct", room: null, ["c1"], track: false, user: "alice");
        await dispatcher.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([("c1", (string?)null, (string?)"alice")], gone.Reports.ToArray());
    }
}

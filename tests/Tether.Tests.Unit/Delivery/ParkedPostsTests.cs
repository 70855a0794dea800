using Tether.Delivery;

namespace Tether.Tests.Delivery;

/// <summary>Posts parked behind a busy recipient are queued posts: they count toward <c>Delivery__MaxQueued</c>.</summary>
public sealed class ParkedPostsTests
{
    [Fact]
    public async Task Posts_parked_behind_a_busy_recipient_hold_their_stream_at_the_mark()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var markerPosted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new ScriptedOutcomes(async (id, _) =>
        {
            if (id == "busy") await gate.Task;
            if (id == "marker") markerPosted.TrySetResult();
            return ScriptedOutcomes.Delivered;
        });
        var gone = new ScriptedGone((_, _) => Task.FromResult(true));
        await using var dispatcher = await ScriptedOutcomes.StartAsync(client, gone,
            new DeliveryOptions { MaxConcurrency = 4, MaxQueued = 10, AdmissionTimeout = TimeSpan.FromMinutes(1) });

        // One recipient, 30 messages: the first is in flight, the other 29 are taken by free workers and parked
        // behind it. The marker, queued last on the same stream, is posted only once every one of them was taken.
        Task admission;
        try
        {
            for (var i = 0; i < 30; i++) dispatcher.Dispatch(ScriptedOutcomes.Message($"m{i}"), "room:r", "r", ["busy"], track: false);
            dispatcher.Dispatch(ScriptedOutcomes.Message("last"), "room:r", "r", ["marker"], track: false);
            await markerPosted.Task.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(29, dispatcher.Queued);
            admission = dispatcher.AdmitAsync("room:r").AsTask();
            Assert.False(admission.IsCompleted, "29 parked posts are over the mark of 10: the stream must wait");
        }
        finally
        {
            gate.TrySetResult();
        }
        await admission.WaitAsync(TimeSpan.FromSeconds(30));
        await dispatcher.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, dispatcher.Queued);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"m{i}"), client.Bodies("busy"));
    }
}

using System.Diagnostics;
using Tether.Contracts;

namespace Tether.Tests.Grains;

/// <summary>Connections whose <c>$disconnect</c> never came are found by their sweep reminder and removed.</summary>
[Collection(SweepClusterTests.Name)]
public sealed class SweepTests(SweepClusterFixture fixture)
{
    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private async Task<string> ConnectAsync(string room, DateTimeOffset connectedAt)
    {
        var id = NewId();
        fixture.Connections.Add(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], connectedAt, null, null, null));
        return id;
    }

    /// <summary>Polls a grain-side condition: reminders fire on their own schedule, there is no event to await.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "timed out waiting until " + what);
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_connection_API_Gateway_no_longer_has_is_removed_and_an_open_one_is_kept()
    {
        var room = "sweep-" + Guid.NewGuid().ToString("N")[..8];
        var vanished = await ConnectAsync(room, DateTimeOffset.UtcNow);
        var open = await ConnectAsync(room, DateTimeOffset.UtcNow);

        fixture.Connections.Vanish(vanished);
        await WaitUntilAsync(async () => await fixture.Grains.GetGrain<IConnectionGrain>(vanished).GetSnapshot() is null, "the vanished connection is swept");
        // The open one must survive its own ticks: let three more pass (a negative check has no event to await).
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.False(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(vanished));
        Assert.False(await fixture.Grains.GetGrain<IRoomGrain>("lobby").IsMember(vanished));
        Assert.NotNull(await fixture.Grains.GetGrain<IConnectionGrain>(open).GetSnapshot());
        Assert.True(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(open));
    }

    [Fact]
    public async Task A_connection_older_than_API_Gateways_two_hour_limit_is_dropped_even_if_GetConnection_still_answers()
    {
        var room = "sweep-" + Guid.NewGuid().ToString("N")[..8];
        var old = await ConnectAsync(room, DateTimeOffset.UtcNow - TimeSpan.FromHours(2.5));

        await WaitUntilAsync(async () => await fixture.Grains.GetGrain<IConnectionGrain>(old).GetSnapshot() is null, "the old connection is swept");

        Assert.Equal(0, await fixture.Grains.GetGrain<IRoomGrain>(room).Count());
    }
}

using Tether.Contracts;
using Tether.LocalGateway;

namespace Tether.Tests.Grains;

/// <summary>
/// API Gateway answers 410 to posts for a connection whose <c>$connect</c> it has not finished, even after our
/// <c>/connect</c> accepted it. Such a connection must not be thrown away.
/// </summary>
[Collection(GraceClusterTests.Name)]
public sealed class ConnectGraceTests(GraceClusterFixture fixture)
{
    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private async Task<string> ConnectAsync(string room, EmulatedConnectionState state)
    {
        var id = NewId();
        fixture.Connections.Add(id, state);
        await fixture.Grains.GetGrain<IConnectionGrain>(id).Connect(new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
        return id;
    }

    private Task<PublishReceipt> PublishAsync(string room, string body) =>
        fixture.Grains.GetGrain<IRoomGrain>(room).Publish(
            Envelopes.Message(Envelopes.NewMessageId(), room, null, null, body, DateTimeOffset.UtcNow), null, trackDelivery: false);

    [Fact]
    public async Task A_410_during_connect_keeps_the_connection_and_later_messages_reach_it()
    {
        var room = "grace-" + Guid.NewGuid().ToString("N")[..6];
        var id = await ConnectAsync(room, EmulatedConnectionState.Connecting);

        await PublishAsync(room, "\"too early\"");
        await fixture.DrainAsync();
        Assert.NotNull(await fixture.Grains.GetGrain<IConnectionGrain>(id).GetSnapshot());
        Assert.True(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(id));

        fixture.Connections.Open(id);
        await PublishAsync(room, "\"welcome\"");
        await fixture.DrainAsync();

        Assert.Equal(["\"welcome\""], fixture.Connections.Received(id).Select(m => System.Text.Json.JsonDocument.Parse(m).RootElement.GetProperty("body").GetRawText()).ToArray());
    }

    [Fact]
    public async Task A_connection_that_never_completed_is_removed_after_the_grace_period()
    {
        var room = "grace-" + Guid.NewGuid().ToString("N")[..6];
        var id = await ConnectAsync(room, EmulatedConnectionState.Connecting);
        await PublishAsync(room, "1");
        await fixture.DrainAsync();
        fixture.Connections.Vanish(id);
        var vanishedAt = System.Diagnostics.Stopwatch.GetTimestamp();

        // The grain asks API Gateway again (GetConnection) about its own id when the grace period ends (another
        // test's connection may be asked about meanwhile). Its turn runs to the end before the next call, so the
        // snapshot read after that lookup sees the outcome.
        var grain = fixture.Grains.GetGrain<IConnectionGrain>(id);
        Assert.NotNull(await grain.GetSnapshot());
        await fixture.Observed.LookedUpAfterAsync(id, vanishedAt, TimeSpan.FromSeconds(20));

        Assert.Null(await grain.GetSnapshot());

        Assert.False(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(id));
    }
}

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
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
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

        var before = System.Diagnostics.Stopwatch.GetTimestamp();
        await PublishAsync(room, "\"too early\"");
        // The post meets 410; the grain keeps the connection, and the post waits for the window to pass.
        await fixture.Observed.LookedUpAfterAsync(id, before, TimeSpan.FromSeconds(20));
        Assert.NotNull(await fixture.Grains.GetGrain<IConnectionGrain>(id).GetSnapshot());
        Assert.True(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(id));

        fixture.Connections.Open(id);
        await PublishAsync(room, "\"welcome\"");
        await fixture.DrainAsync();

        // The post that met 410 during the handshake is made again once the window has passed, and the later one follows it.
        Assert.Equal(["\"too early\"", "\"welcome\""], fixture.Connections.Received(id).Select(m => System.Text.Json.JsonDocument.Parse(m).RootElement.GetProperty("body").GetRawText()).ToArray());
    }

    [Fact]
    public async Task A_410_after_the_window_removes_the_connection_at_once()
    {
        var room = "grace-" + Guid.NewGuid().ToString("N")[..6];
        var id = await ConnectAsync(room, EmulatedConnectionState.Open);
        var grain = fixture.Grains.GetGrain<IConnectionGrain>(id);
        var snapshot = await grain.GetSnapshot();
        // The window (3 s in this cluster) is time passing, not an event to await.
        await Task.Delay(TimeSpan.FromSeconds(3.2));
        fixture.Connections.Vanish(id);

        await PublishAsync(room, "\"after the window\"");
        await fixture.DrainAsync();

        Assert.NotNull(snapshot);
        Assert.Null(await grain.GetSnapshot());
        Assert.False(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(id));
    }

    [Fact]
    public async Task A_connection_that_never_completed_is_removed_after_the_grace_period()
    {
        var room = "grace-" + Guid.NewGuid().ToString("N")[..6];
        var id = await ConnectAsync(room, EmulatedConnectionState.Connecting);
        var before = System.Diagnostics.Stopwatch.GetTimestamp();
        await PublishAsync(room, "1");
        await fixture.Observed.LookedUpAfterAsync(id, before, TimeSpan.FromSeconds(20));
        fixture.Connections.Vanish(id);
        var vanishedAt = System.Diagnostics.Stopwatch.GetTimestamp();

        // When the grace period ends the grain asks API Gateway again (GetConnection) about its own id, and the post
        // that met 410 is made again (another test's connection may be asked about meanwhile). The grain's turn runs
        // to the end before the next call, and the dispatcher is idle once the grain has the post's 410, so the
        // snapshot read after both sees the outcome.
        var grain = fixture.Grains.GetGrain<IConnectionGrain>(id);
        Assert.NotNull(await grain.GetSnapshot());
        await fixture.Observed.LookedUpAfterAsync(id, vanishedAt, TimeSpan.FromSeconds(20));
        await fixture.DrainAsync();

        Assert.Null(await grain.GetSnapshot());

        Assert.False(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(id));
    }

    /// <summary>
    /// /connect stores the record without the grain (ConnectorGrain): an activation that was sure "not connected" before
    /// must read the record, not act on its memory, when a room reports the 410 of a connection still connecting.
    /// </summary>
    [Fact]
    public async Task A_grain_active_before_the_connect_keeps_the_connection_on_a_410_during_connect()
    {
        var room = "grace-" + Guid.NewGuid().ToString("N")[..6];
        var id = NewId();
        fixture.Connections.Add(id, EmulatedConnectionState.Connecting);
        var grain = fixture.Grains.GetGrain<IConnectionGrain>(id);
        Assert.Null(await grain.GetSnapshot());

        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));

        Assert.False(await grain.Gone(room));
        Assert.True(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(id));
        Assert.Equal(new[] { "lobby", room }.Order(StringComparer.Ordinal), (await grain.GetSnapshot())!.Rooms);
    }
}

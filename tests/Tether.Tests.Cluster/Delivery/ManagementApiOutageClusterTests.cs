using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tether.Contracts;
using Tether.Delivery;
using Tether.Hosting;
using Tether.LocalGateway;

namespace Tether.Tests.Grains;

/// <summary>
/// The Management API answers 500 to everything for a while: what was published meanwhile waits and arrives once, in
/// order, when it is back; what waited longer than <c>Delivery__MaxOutageDelay</c> is dropped; readiness says so.
/// </summary>
[Collection(OutageClusterTests.Name)]
public sealed class ManagementApiOutageClusterTests(OutageClusterFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private async Task<(string Room, string[] Members)> RoomWithMembersAsync(int count)
    {
        var room = "outage-" + Guid.NewGuid().ToString("N")[..6];
        var members = Enumerable.Range(0, count).Select(_ => NewId()).ToArray();
        foreach (var id in members)
        {
            fixture.Connections.Add(id, EmulatedConnectionState.Open);
            await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
        }
        await fixture.DrainAsync();
        return (room, members);
    }

    private Task<PublishReceipt> PublishAsync(string room, string body) =>
        fixture.Grains.GetGrain<IRoomGrain>(room).Publish(
            Envelopes.Message(Envelopes.NewMessageId(), room, null, null, JsonSerializer.Serialize(body), DateTimeOffset.UtcNow), null, trackDelivery: false);

    private List<string> MessagesTo(string id, string room) =>
        [.. fixture.Connections.Received(id)
            .Select(m => JsonDocument.Parse(m).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "message" && e.GetProperty("room").GetString() == room)
            .Select(e => e.GetProperty("body").GetString()!)];

    private Task<HealthCheckResult> ReadinessAsync() =>
        new ManagementApiHealthCheck(fixture.Cluster.Silos[0].ServiceProvider).CheckHealthAsync(new HealthCheckContext());

    private async Task UntilUnhealthyAsync() =>
        await Eventually.HoldsAsync(async () => Assert.Equal(HealthStatus.Unhealthy, (await ReadinessAsync()).Status), Timeout, "readiness reports the Management API failing");

    [Fact]
    public async Task Posts_made_during_a_short_outage_arrive_once_in_order_after_it_and_readiness_tells()
    {
        var (room, members) = await RoomWithMembersAsync(4);
        Assert.Equal(HealthStatus.Healthy, (await ReadinessAsync()).Status);

        fixture.Gateway.Emulator.Faults.ServerErrorShare = 1;
        try
        {
            for (var i = 0; i < 6; i++) await PublishAsync(room, $"m{i}");
            await UntilUnhealthyAsync();
        }
        finally
        {
            fixture.Gateway.Emulator.Faults.ServerErrorShare = 0;
        }
        await fixture.DrainAsync();

        foreach (var id in members) Assert.Equal(Enumerable.Range(0, 6).Select(i => $"m{i}"), MessagesTo(id, room));
        Assert.Equal(HealthStatus.Healthy, (await ReadinessAsync()).Status);
    }

    [Fact]
    public async Task Posts_that_wait_longer_than_the_max_outage_delay_are_dropped_not_posted_late()
    {
        var (room, members) = await RoomWithMembersAsync(3);
        var dispatcher = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<DeliveryDispatcher>();

        fixture.Gateway.Emulator.Faults.ServerErrorShare = 1;
        try
        {
            await PublishAsync(room, "lost");
            await UntilUnhealthyAsync();
            // Idle once every waiting post has passed its deadline and been dropped, while the API still fails.
            await fixture.DrainAsync();
        }
        finally
        {
            fixture.Gateway.Emulator.Faults.ServerErrorShare = 0;
        }
        Assert.Equal(0, dispatcher.Pending);

        await PublishAsync(room, "after");
        await fixture.DrainAsync();
        foreach (var id in members) Assert.Equal(["after"], MessagesTo(id, room));
        Assert.Equal(HealthStatus.Healthy, (await ReadinessAsync()).Status);
    }
}

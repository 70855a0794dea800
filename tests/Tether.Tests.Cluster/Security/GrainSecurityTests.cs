using Tether.Contracts;
using Tether.Tests.Grains;

namespace Tether.Tests.Security;

/// <summary>What the grains enforce on their own: room patterns kept in state across reactivation.</summary>
[Collection(ClusterTests.Name)]
public sealed class GrainSecurityTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Room_patterns_from_the_token_survive_the_grains_deactivation()
    {
        var id = Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";
        fixture.Connections.Add(id);
        var connection = fixture.Grains.GetGrain<IConnectionGrain>(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest("zoe", [], DateTimeOffset.UtcNow, null, null, null, AllowedRooms: ["team-*"]));

        // Collect every idle activation, and wait until this connection's is gone: the next call reactivates it from storage.
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            await management.ForceActivationCollection(TimeSpan.Zero);
            var active = await management.GetActiveGrains(GrainType.Create("connection"));
            if (!active.Any(g => g.Key.ToString() == id)) break;
            Assert.True(DateTime.UtcNow < deadline, "The connection grain was never deactivated.");
        }

        var forbidden = await connection.Handle(new JoinRoom("admins"));
        var allowed = await connection.Handle(new JoinRoom("team-blue"));
        var send = await connection.Handle(new SendToRoom("admins", "1", Echo: true));

        Assert.Equal((403, "room_forbidden"), (forbidden.Status, Assert.IsType<ErrorReply>(forbidden).Code));
        Assert.Equal(200, Assert.IsType<Joined>(allowed).Status);
        Assert.Equal((403, "room_forbidden"), (send.Status, Assert.IsType<ErrorReply>(send).Code));
    }
}

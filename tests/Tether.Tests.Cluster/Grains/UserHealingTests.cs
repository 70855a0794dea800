using Tether.Contracts;
using Tether.LocalGateway;

namespace Tether.Tests.Grains;

/// <summary>A user that lists a connection API Gateway no longer has heals on the 410 of its own post, as rooms do.</summary>
[Collection(ClusterTests.Name)]
public sealed class UserHealingTests(ClusterFixture fixture)
{
    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    [Fact]
    public async Task A_410_on_a_users_post_removes_that_connection_from_the_user()
    {
        var user = "heal-" + Guid.NewGuid().ToString("N")[..8];
        var live = NewId();
        fixture.Connections.Add(live, EmulatedConnectionState.Open);
        await fixture.Grains.Connector().Connect(live, new ConnectRequest(user, [], DateTimeOffset.UtcNow, null, null, null));
        // A connection the user lists but whose own record is gone (its removal from the user failed once):
        // API Gateway answers 410 for it, and only the user's post can find it.
        var ghost = NewId();
        var grain = fixture.Grains.GetGrain<IUserGrain>(user);
        await grain.AddConnection(ghost);

        var receipt = await grain.Publish(Envelopes.Message(Envelopes.NewMessageId(), null, null, null, "\"hi\"", DateTimeOffset.UtcNow), null);
        Assert.Equal(2, receipt.Recipients);
        await fixture.DrainAsync();

        Assert.Equal([live], await grain.GetConnections());
        Assert.Single(fixture.Connections.Received(live));
    }
}

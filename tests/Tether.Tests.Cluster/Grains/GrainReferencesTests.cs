using Tether.Contracts;

namespace Tether.Tests.Grains;

/// <summary>
/// The cached references address the same grains as Orleans' own <c>GetGrain&lt;T&gt;</c>: same grain id (persisted state
/// and reminders are keyed by it) and same interface.
/// </summary>
[Collection(ClusterTests.Name)]
public sealed class GrainReferencesTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Each_reference_matches_the_one_Orleans_resolves_and_reaches_the_same_activation()
    {
        var grains = fixture.Grains;
        var key = "ref-" + Guid.NewGuid().ToString("N")[..8];
        (IAddressable Ours, IAddressable Orleans)[] pairs =
        [
            (grains.Connection(key), grains.GetGrain<IConnectionGrain>(key)),
            (grains.Room(key), grains.GetGrain<IRoomGrain>(key)),
            (grains.RoomShard(key + "#0"), grains.GetGrain<IRoomShardGrain>(key + "#0")),
            (grains.User(key), grains.GetGrain<IUserGrain>(key)),
            (grains.SweepBucket(key), grains.GetGrain<ISweepBucketGrain>(key)),
            (grains.Connector(), grains.GetGrain<IConnectorGrain>(0)),
            // Second calls take the cached path.
            (grains.Connection(key), grains.GetGrain<IConnectionGrain>(key)),
            (grains.Room(key), grains.GetGrain<IRoomGrain>(key)),
            (grains.Connector(), grains.GetGrain<IConnectorGrain>(0)),
        ];
        foreach (var (ours, orleans) in pairs)
        {
            Assert.Equal(orleans.GetGrainId(), ours.GetGrainId());
            Assert.Equal(((GrainReference)orleans).InterfaceType, ((GrainReference)ours).InterfaceType);
        }

        var connection = "R" + Guid.NewGuid().ToString("N")[..14] + "=";
        fixture.Connections.Add(connection);
        await grains.Connector().Connect(connection, new ConnectRequest(null, [key], DateTimeOffset.UtcNow, null, null, null));
        Assert.True(await grains.GetGrain<IRoomGrain>(key).IsMember(connection));
        Assert.NotNull(await grains.GetGrain<IConnectionGrain>(connection).GetSnapshot());
        await grains.Connection(connection).Disconnect("test");
    }

    [Fact]
    public void A_blank_key_is_refused_like_Orleans_refuses_it()
    {
        Assert.Throws<ArgumentException>(() => fixture.Grains.Connection(" "));
        Assert.ThrowsAny<ArgumentException>(() => fixture.Grains.Room(""));
    }
}

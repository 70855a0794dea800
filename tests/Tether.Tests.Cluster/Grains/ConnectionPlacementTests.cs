using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;

namespace Tether.Tests.Grains;

/// <summary>
/// A connection's grain is activated on the silo that received the call: in the cluster shape that is the gateway the
/// API's call reached, so neither the <c>/connect</c> nor the connection's later events take one more hop.
/// </summary>
[Collection(ThreeSiloClusterTests.Name)]
public sealed class ConnectionPlacementTests(ThreeSiloClusterFixture fixture)
{
    [Fact]
    public async Task A_connection_grain_is_activated_on_the_silo_that_was_called()
    {
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        var room = "placement-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var silo in fixture.Cluster.Silos)
        {
            // Outside any grain, a silo's own grain factory sends from that silo: Orleans places a new activation there.
            var grains = silo.ServiceProvider.GetRequiredService<IGrainFactory>();
            for (var i = 0; i < 10; i++)
            {
                var id = "P" + Guid.NewGuid().ToString("N")[..14] + "=";
                fixture.Connections.Add(id);
                await grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
                // /connect did not activate it (ConnectorGrain): the first call does, placed on the silo that was called.
                Assert.NotNull(await grains.GetGrain<IConnectionGrain>(id).GetSnapshot());
                Assert.Equal(silo.SiloAddress, await management.GetActivationAddress(grains.GetGrain<IConnectionGrain>(id)));
                await grains.GetGrain<IConnectionGrain>(id).Disconnect("test");
            }
        }
    }
}

using Tether.Contracts;

namespace Tether.Grains;

/// <summary>Reports a 410 to the connection's grain (see <see cref="IConnectionGrain.Gone"/>).</summary>
public sealed class GoneConnections(IGrainFactory grains) : IGoneConnections
{
    public Task<bool> GoneAsync(string connectionId, string? seenInRoom) => grains.Connection(connectionId).Gone(seenInRoom);
}

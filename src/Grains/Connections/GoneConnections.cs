using Tether.Contracts;

namespace Tether.Grains;

/// <summary>Reports a 410 to the connection's grain (see <see cref="IConnectionGrain.Gone"/>), and to the user whose post met it.</summary>
public sealed class GoneConnections(IGrainFactory grains) : IGoneConnections
{
    public async Task<bool> GoneAsync(string connectionId, string? seenInRoom, string? seenInUser)
    {
        if (!await grains.Connection(connectionId).Gone(seenInRoom)) return false;
        // The connection's record names its user, but a user may list a connection whose record is gone (a failed
        // removal): the 410 on the user's own post heals it, as a room heals through seenInRoom.
        if (seenInUser is not null) await grains.User(seenInUser).RemoveConnection(connectionId);
        return true;
    }
}

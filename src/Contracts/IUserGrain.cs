using Orleans.Concurrency;

namespace Tether.Contracts;

/// <summary>A user and the connections they hold, keyed by the user id.</summary>
public interface IUserGrain : IGrainWithStringKey
{
    Task AddConnection(string connectionId);

    Task RemoveConnection(string connectionId);

    /// <summary>Hands the message to the dispatcher for each of the user's connections; returns their number.</summary>
    Task<int> Deliver(OutboundMessage message);

    [ReadOnly]
    Task<IReadOnlyList<string>> GetConnections();
}

using Orleans.Concurrency;

namespace Tether.Contracts;

/// <summary>A user and the connections they hold, keyed by the user id.</summary>
public interface IUserGrain : IGrainWithStringKey
{
    Task AddConnection(string connectionId);

    Task RemoveConnection(string connectionId);

    /// <summary>
    /// Gives the message the user's next seq, stores it, hands it to the dispatcher for each of the user's connections
    /// and returns their number.
    /// </summary>
    Task<int> Deliver(OutboundMessage message);

    /// <summary>Like <see cref="Deliver"/>, with the receipt; a repeated <paramref name="requestId"/> gets the first one's.</summary>
    Task<PublishReceipt> Publish(OutboundMessage message, string? requestId);

    /// <summary>Queues for this connection alone every message of the user's stream after <paramref name="since"/>.</summary>
    Task<StreamResume> CatchUp(string connectionId, StreamPosition since);

    [ReadOnly]
    Task<IReadOnlyList<string>> GetConnections();
}

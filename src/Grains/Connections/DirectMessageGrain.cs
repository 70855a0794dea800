using Orleans.Concurrency;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Checks storage (<see cref="StoredRecipients"/>) before it calls a connection's or user's grain, as a client's
/// <c>sendto</c> does: random ids on the admin API leave no activations behind. Reentrant: it keeps nothing between
/// calls, and a stateless worker otherwise serves one call per local activation (at most one per core).
/// </summary>
[StatelessWorker]
[Reentrant]
[GrainType(TetherGrainTypes.DirectMessage)]
public sealed class DirectMessageGrain : Grain, IDirectMessageGrain
{
    public async Task<bool> ToConnection(string connectionId, OutboundMessage message) =>
        await StoredRecipients.IsConnectedAsync(ServiceProvider, connectionId) && await GrainFactory.Connection(connectionId).Deliver(message);

    public async Task<PublishReceipt?> ToUser(string user, OutboundMessage message) =>
        await StoredRecipients.HasConnectionsAsync(ServiceProvider, user) ? await GrainFactory.User(user).Publish(message, requestId: null) : null;
}

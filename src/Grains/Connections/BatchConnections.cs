using Tether.Contracts;

namespace Tether.Grains;

/// <summary>Asks the connection's grain whether it takes batches (see <see cref="IConnectionGrain.TakesBatches"/>).</summary>
public sealed class BatchConnections(IGrainFactory grains) : IBatchRecipients
{
    public Task<bool> TakesBatchesAsync(string connectionId) => grains.Connection(connectionId).TakesBatches();
}

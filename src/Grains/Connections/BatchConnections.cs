using Tether.Contracts;

namespace Tether.Grains;

/// <summary>Reads the batch registry (see <see cref="IBatchRegistryGrain"/>).</summary>
public sealed class BatchConnections(IGrainFactory grains) : IBatchRecipients
{
    public Task<IReadOnlyCollection<string>> InBucketAsync(int bucket) => grains.BatchRegistry(bucket).GetConnections();
}

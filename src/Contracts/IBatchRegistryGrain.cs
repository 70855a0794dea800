using Orleans.Concurrency;

namespace Tether.Contracts;

/// <summary>
/// One bucket of the connections that asked for batched delivery (<c>batch=1</c>): each silo's dispatcher reads whole
/// buckets now and then, so it knows who takes batches without a call per recipient, and without waking the connection
/// grains, which leave memory after <c>/connect</c>. Key: the bucket (see <see cref="BatchRegistry"/>).
/// </summary>
public interface IBatchRegistryGrain : IGrainWithStringKey
{
    Task Add(string connectionId);

    Task Remove(string connectionId);

    [ReadOnly, AlwaysInterleave]
    Task<IReadOnlyCollection<string>> GetConnections();
}

/// <summary>How connection ids are spread over the registry's buckets.</summary>
public static class BatchRegistry
{
    public const int Buckets = 64;

    public static int BucketOf(string connectionId) => (int)(RoomShards.Hash(connectionId) >> 26);

    public static string Key(int bucket) => bucket.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

using Orleans.Concurrency;

namespace Tether.Contracts;

/// <summary>
/// The sweep index: the connections accepted in one minute (by API Gateway's <c>connectedAt</c>) whose id hashes to
/// one shard, keyed by <c>SweepBuckets.Key</c>. One durable reminder per bucket checks them now and then with
/// GetConnection, so a connection whose <c>$disconnect</c> never came is still removed, at the cost of an id in a
/// set instead of a reminder per connection.
/// </summary>
public interface ISweepBucketGrain : IGrainWithStringKey
{
    /// <summary>Adds a connection; completes once the id and the bucket's reminder are durable.</summary>
    Task Register(string connectionId);

    /// <summary>
    /// Drops a connection that was removed. Not awaited to storage: a removal lost in a crash only costs one
    /// GetConnection (410) at the bucket's next check.
    /// </summary>
    Task Unregister(string connectionId);

    /// <summary>Whether the bucket holds this connection (operations and tests).</summary>
    [ReadOnly]
    Task<bool> Contains(string connectionId);

    /// <summary>How many connections the bucket holds.</summary>
    [ReadOnly]
    Task<int> Count();
}

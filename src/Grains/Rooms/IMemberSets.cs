namespace Tether.Grains;

/// <summary>
/// Where small rooms', room shards' and sweep buckets' connection ids are stored: one set per room, shard or bucket,
/// changed a member at a time, so a join, a leave or a registration writes the same few bytes whatever the set's size.
/// Redis sets in the cluster shape, memory in the embedded one. One set is written by one grain activation at a time. Every method completes once
/// the change is stored, and a change that fails is not stored.
/// </summary>
public interface IMemberSets
{
    /// <summary>Every member of the set (empty when it was never written or was emptied).</summary>
    Task<IReadOnlyCollection<string>> ReadAsync(string name);

    /// <summary>Adds one member (idempotent).</summary>
    Task AddAsync(string name, string member);

    /// <summary>Removes members (idempotent); an emptied set is deleted.</summary>
    Task RemoveAsync(string name, IReadOnlyCollection<string> members);

    /// <summary>Makes the set exactly <paramref name="members"/>, in one atomic write: nobody sees a mix of the old and new sets.</summary>
    Task ReplaceAsync(string name, IReadOnlyCollection<string> members);

    /// <summary>Deletes the set.</summary>
    Task DeleteAsync(string name);
}

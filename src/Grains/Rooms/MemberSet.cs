namespace Tether.Grains;

/// <summary>
/// The members of a small room or of a room shard: in memory for reading, stored in <see cref="IMemberSets"/> one change
/// at a time. Each change is stored before memory changes, so a failed write leaves both as they were and the caller
/// sees the failure. Callers run one change at a time (the room's gate, or the shard's turn).
/// </summary>
internal sealed class MemberSet(IMemberSets store, string name)
{
    private HashSet<string> _members = new(StringComparer.Ordinal);

    /// <summary>The stored set of a small room.</summary>
    public static string OfRoom(string room) => "room/" + room;

    /// <summary>The stored set of a room shard (<paramref name="shardKey"/>: <c>{index}/{room}</c>).</summary>
    public static string OfShard(string shardKey) => "shard/" + shardKey;

    public int Count => _members.Count;

    public IReadOnlyCollection<string> Members => _members;

    public bool Contains(string member) => _members.Contains(member);

    public async Task LoadAsync() => _members = new HashSet<string>(await store.ReadAsync(name), StringComparer.Ordinal);

    /// <summary>Adds a member; whether it was new.</summary>
    public async Task<bool> AddAsync(string member)
    {
        if (_members.Contains(member)) return false;
        await store.AddAsync(name, member);
        _members.Add(member);
        return true;
    }

    /// <summary>Removes a member; whether it was one.</summary>
    public async Task<bool> RemoveAsync(string member)
    {
        if (!_members.Contains(member)) return false;
        await store.RemoveAsync(name, [member]);
        _members.Remove(member);
        return true;
    }

    /// <summary>
    /// Drops every member <paramref name="leaves"/> picks: from memory at once, then from storage in one write. For
    /// members the room's stored map already gives to another shard: they must not be posted to twice even if this
    /// write fails, and the stored copies are dropped by the next trim.
    /// </summary>
    public async Task TrimAsync(Func<string, bool> leaves)
    {
        string[] leaving = [.. _members.Where(leaves)];
        if (leaving.Length == 0) return;
        _members.ExceptWith(leaving);
        await store.RemoveAsync(name, leaving);
    }

    /// <summary>Makes the set exactly <paramref name="members"/>, in one atomic write.</summary>
    public async Task ReplaceAsync(IReadOnlyCollection<string> members)
    {
        var replaced = new HashSet<string>(members, StringComparer.Ordinal);
        await store.ReplaceAsync(name, replaced);
        _members = replaced;
    }

    public async Task DeleteAsync()
    {
        await store.DeleteAsync(name);
        _members = new HashSet<string>(StringComparer.Ordinal);
    }
}

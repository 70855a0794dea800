using System.Collections.Concurrent;

namespace Tether.Grains;

/// <summary>
/// Member sets in this process's memory (the embedded shape, and in-process test clusters whose silos share one
/// instance): they outlive grain activations, not the process, like the in-memory grain storage next to them.
/// </summary>
public sealed class InMemoryMemberSets : IMemberSets
{
    private readonly ConcurrentDictionary<string, HashSet<string>> _sets = new(StringComparer.Ordinal);

    public Task<IReadOnlyCollection<string>> ReadAsync(string name)
    {
        if (!_sets.TryGetValue(name, out var members)) return Task.FromResult<IReadOnlyCollection<string>>([]);
        lock (members)
        {
            return Task.FromResult<IReadOnlyCollection<string>>([.. members]);
        }
    }

    public Task AddAsync(string name, string member)
    {
        while (true)
        {
            var members = _sets.GetOrAdd(name, _ => new HashSet<string>(StringComparer.Ordinal));
            lock (members)
            {
                // An emptied set is removed from the map under its lock: add to the one the map holds now.
                if (!ReferenceEquals(_sets.GetValueOrDefault(name), members)) continue;
                members.Add(member);
                return Task.CompletedTask;
            }
        }
    }

    public Task RemoveAsync(string name, IReadOnlyCollection<string> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (!_sets.TryGetValue(name, out var stored)) return Task.CompletedTask;
        lock (stored)
        {
            stored.ExceptWith(members);
            if (stored.Count == 0) _sets.TryRemove(new KeyValuePair<string, HashSet<string>>(name, stored));
        }
        return Task.CompletedTask;
    }

    public Task ReplaceAsync(string name, IReadOnlyCollection<string> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0) return DeleteAsync(name);
        _sets[name] = new HashSet<string>(members, StringComparer.Ordinal);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string name)
    {
        _sets.TryRemove(name, out _);
        return Task.CompletedTask;
    }
}

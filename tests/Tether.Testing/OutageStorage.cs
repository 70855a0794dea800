using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;

namespace Tether.Testing;

/// <summary>
/// Grain storage that fails as Redis does during an outage, per state name ("connection", "user", …): every call
/// throws, or a write lands and its answer is lost (a timeout after Redis executed it). Versions are checked like
/// Orleans' Redis provider does, so a write from a stale version is refused with <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class OutageStorage
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), (byte[] Data, string ETag)> _stored = new();
    private readonly ConcurrentDictionary<string, OutageKind> _outages = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HeldWrites> _holds = new(StringComparer.Ordinal);
    private long _versions;

    public enum OutageKind
    {
        /// <summary>Reads, writes and clears throw; nothing is stored.</summary>
        Down,

        /// <summary>Writes and clears are applied, then throw as a lost answer would; reads work.</summary>
        AnswersLost,
    }

    public void Fail(string stateName, OutageKind kind = OutageKind.Down) => _outages[stateName] = kind;

    /// <summary>Ends every outage and releases every held write.</summary>
    public void Heal()
    {
        _outages.Clear();
        foreach (var hold in _holds.Values) hold.Release();
        _holds.Clear();
    }

    /// <summary>
    /// Holds every write and clear of <paramref name="stateName"/> until <see cref="HeldWrites.Release"/>: a test lets a
    /// deadline pass, or another call act, while a grain waits on storage.
    /// </summary>
    public HeldWrites HoldWrites(string stateName) => _holds[stateName] = new HeldWrites();

    /// <summary>Writes held by <see cref="HoldWrites"/>; once released, later writes pass at once.</summary>
    public sealed class HeldWrites
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the first held write arrives.</summary>
        public Task Reached => _reached.Task;

        public void Release() => _released.TrySetResult();

        internal Task PassAsync()
        {
            _reached.TrySetResult();
            return _released.Task;
        }
    }

    /// <summary>This store as one silo's grain storage (each silo has its own serializer; all share what is stored).</summary>
    public IGrainStorage For(Serializer serializer) => new SiloView(this, serializer);

    private sealed class SiloView(OutageStorage store, Serializer serializer) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            store.ReadAsync(serializer, stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            store.WriteAsync(serializer, stateName, grainId, grainState);

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            store.ClearAsync(stateName, grainId, grainState);
    }

    private Task ReadAsync<T>(Serializer serializer, string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (_outages.TryGetValue(stateName, out var kind) && kind == OutageKind.Down) throw Unreachable();
        if (_stored.TryGetValue((stateName, grainId), out var stored))
        {
            grainState.State = serializer.Deserialize<T>(stored.Data);
            grainState.ETag = stored.ETag;
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
        return Task.CompletedTask;
    }

    private async Task WriteAsync<T>(Serializer serializer, string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (_holds.TryGetValue(stateName, out var hold)) await hold.PassAsync();
        var kind = Outage(stateName);
        CheckVersion(stateName, grainId, grainState.ETag);
        var etag = Interlocked.Increment(ref _versions).ToString(CultureInfo.InvariantCulture);
        _stored[(stateName, grainId)] = (serializer.SerializeToArray(grainState.State), etag);
        if (kind == OutageKind.AnswersLost) throw Lost();
        grainState.ETag = etag;
        grainState.RecordExists = true;
    }

    private async Task ClearAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (_holds.TryGetValue(stateName, out var hold)) await hold.PassAsync();
        var kind = Outage(stateName);
        CheckVersion(stateName, grainId, grainState.ETag);
        _stored.TryRemove((stateName, grainId), out _);
        if (kind == OutageKind.AnswersLost) throw Lost();
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }

    private OutageKind? Outage(string stateName) =>
        _outages.TryGetValue(stateName, out var kind)
            ? kind == OutageKind.Down ? throw Unreachable() : kind
            : null;

    private void CheckVersion(string stateName, GrainId grainId, string? etag)
    {
        var stored = _stored.TryGetValue((stateName, grainId), out var entry) ? entry.ETag : null;
        if (stored != etag) throw new InconsistentStateException($"Version conflict: stored {stored ?? "none"}, written from {etag ?? "none"}.", stored, etag);
    }

    private static RedisConnectionException Unreachable() =>
        new(ConnectionFailureType.UnableToConnect, "No connection is active/available to service this operation (test outage).");

    private static RedisTimeoutException Lost() => new("Timeout awaiting response (test outage: the command was executed).", CommandStatus.Sent);
}

using Orleans.Storage;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// A connection's stored record, reached by its id without activating its grain: the same storage, state name and grain
/// id as <see cref="ConnectionGrain"/>'s state. It starts as "no record" without reading storage, so that its first write
/// creates the record only where none exists: Orleans' Redis and in-memory storage refuse a write without an ETag over
/// an existing record (<see cref="InconsistentStateException"/>).
/// </summary>
internal sealed class ConnectionRecord(IGrainStorage storage, string connectionId) : IPersistentState<ConnectionState>
{
    private readonly GrainId _grainId = GrainId.Create(TetherGrainTypes.Connection, connectionId);
    private readonly GrainState<ConnectionState> _state = new(new ConnectionState());

    public ConnectionState State
    {
        // Storage providers set a state (a new one when none is stored) on every read; it starts as a new one here.
        get => _state.State!;
        set => _state.State = value;
    }

    public string? Etag => _state.ETag;

    public bool RecordExists => _state.RecordExists;

    public Task ReadStateAsync() => storage.ReadStateAsync(StoredRecipients.ConnectionStateName, _grainId, _state);

    public Task WriteStateAsync() => storage.WriteStateAsync(StoredRecipients.ConnectionStateName, _grainId, _state);

    public Task ClearStateAsync() => storage.ClearStateAsync(StoredRecipients.ConnectionStateName, _grainId, _state);
}

using Tether.Contracts;

namespace Tether.Grains;

[GrainType(TetherGrainTypes.BatchRegistry)]
public sealed class BatchRegistryGrain(
    [PersistentState("batchregistry", TetherStorage.Name)] IPersistentState<BatchRegistryState> state) : Grain, IBatchRegistryGrain
{
    private HashSet<string> Connections => state.State.Connections;

    public async Task Add(string connectionId)
    {
        if (!Connections.Add(connectionId)) return;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            Connections.Remove(connectionId);
            throw;
        }
    }

    public async Task Remove(string connectionId)
    {
        if (!Connections.Remove(connectionId)) return;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            Connections.Add(connectionId);
            throw;
        }
    }

    public Task<IReadOnlyCollection<string>> GetConnections() => Task.FromResult<IReadOnlyCollection<string>>([.. Connections]);
}

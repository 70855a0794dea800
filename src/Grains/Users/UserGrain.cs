using Tether.Contracts;

namespace Tether.Grains;

[GrainType(TetherGrainTypes.User)]
public sealed class UserGrain(
    [PersistentState("user", TetherStorage.Name)] IPersistentState<UserState> state,
    IDeliveryDispatcher dispatcher) : Grain, IUserGrain
{
    private readonly Outbox _direct = Outbox.Direct(dispatcher);

    private HashSet<string> Connections => state.State.Connections;

    public async Task AddConnection(string connectionId)
    {
        if (Connections.Add(connectionId)) await state.WriteStateAsync();
    }

    public async Task RemoveConnection(string connectionId)
    {
        if (!Connections.Remove(connectionId)) return;
        if (Connections.Count == 0)
        {
            await state.ClearStateAsync();
        }
        else
        {
            await state.WriteStateAsync();
        }
    }

    public async Task<int> Deliver(OutboundMessage message) => await _direct.AdmitAndPostAsync(message, Connections);

    public Task<IReadOnlyList<string>> GetConnections() =>
        Task.FromResult<IReadOnlyList<string>>([.. Connections.Order(StringComparer.Ordinal)]);
}

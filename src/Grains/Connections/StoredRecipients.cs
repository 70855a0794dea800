using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Whether a <c>sendto</c> names a connection or a user that exists, read from storage without activating its grain:
/// random ids or names would otherwise each leave an activation behind until idle collection (issue 18 point 4).
/// Storage is current: each grain writes its state before answering the call that changed it.
/// </summary>
internal static class StoredRecipients
{
    /// <summary>The name of <see cref="ConnectionGrain"/>'s persistent state.</summary>
    public const string ConnectionStateName = "connection";

    /// <summary>The name of <see cref="UserGrain"/>'s persistent state.</summary>
    public const string UserStateName = "user";

    public static async Task<bool> IsConnectedAsync(IServiceProvider services, string connectionId)
    {
        var state = new GrainState<ConnectionState>(new ConnectionState());
        await Storage(services).ReadStateAsync(ConnectionStateName, GrainId.Create(TetherGrainTypes.Connection, connectionId), state);
        return state.RecordExists && state.State is { Connected: true };
    }

    public static async Task<bool> HasConnectionsAsync(IServiceProvider services, string user)
    {
        var state = new GrainState<UserState>(new UserState());
        await Storage(services).ReadStateAsync(UserStateName, GrainId.Create(TetherGrainTypes.User, user), state);
        return state.RecordExists && state.State is { Connections.Count: > 0 };
    }

    private static IGrainStorage Storage(IServiceProvider services) => services.GetRequiredKeyedService<IGrainStorage>(TetherStorage.Name);
}

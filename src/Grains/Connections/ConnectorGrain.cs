using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Storage;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Serves <c>/connect</c> on the silo the API's call reached, without activating the connection's grain: its directory
/// lookup, registration, state read and later deactivation were most of a <c>/connect</c>'s cost (issue 17 point 2;
/// docs/decisions/stateless-connect.md). The record is created only where none is stored, so a retried <c>/connect</c>
/// finds it; a grain activation that exists meanwhile reads it before trusting its own "not connected". Reentrant: its
/// calls share nothing but the injected services, and a stateless worker is otherwise limited to one call per local
/// activation (at most one per core), which capped the connects in flight per silo.
/// </summary>
[StatelessWorker]
[Reentrant]
[GrainType(TetherGrainTypes.Connector)]
public sealed partial class ConnectorGrain(
    IOptions<RoomOptions> roomOptions,
    TimeProvider time,
    MessageMetrics metrics,
    ILogger<ConnectorGrain> logger) : Grain, IConnectorGrain
{
    private readonly RoomOptions _rooms = roomOptions.Value;

    public async Task<ConnectResult> Connect(string connectionId, ConnectRequest request)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionId);
        ArgumentNullException.ThrowIfNull(request);
        // The API has answered 503 by now (API Gateway refused the WebSocket): registering it would make a ghost.
        if (CallDeadline.Passed(time)) throw new TimeoutException($"Connection {connectionId} reached /connect after the caller's deadline: not registered.");

        var rooms = new List<string>();
        if (_rooms.DefaultRoom is { } lobby) rooms.Add(lobby);
        rooms.AddRange(request.Rooms.Where(r => !rooms.Contains(r, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal));

        var acceptedAt = time.GetUtcNow();
        var record = new StoredState<ConnectionState>(new ConnectionRecord(ServiceProvider.GetRequiredKeyedService<IGrainStorage>(TetherStorage.Name), connectionId));
        var retried = false;
        // The first write carries no ETag: it creates the record, or meets the one stored and is applied to it instead.
        await record.ChangeAsync(s =>
        {
            retried = s.Connected;
            if (retried)
            {
                // Stored already (a retried /connect): that registration stands, stamped as this call's, so that the
                // earlier call's undo, should it finish late, spares it (it removes only what it stored itself).
                s.AcceptedAt = acceptedAt;
                return true;
            }
            s.Connected = true;
            s.User = request.User;
            s.ConnectedAt = request.ConnectedAt;
            s.SourceIp = request.SourceIp;
            s.UserAgent = request.UserAgent;
            s.AcceptedAt = acceptedAt;
            s.Rooms = new HashSet<string>(rooms, StringComparer.Ordinal);
            s.AllowedRooms = request.AllowedRooms?.ToList();
            s.Batch = request.Batch;
            s.Data = request.Data;
            return true;
        });
        if (retried)
        {
            LogRetried(connectionId);
            return new ConnectResult(AlreadyConnected: true, [.. record.State.Rooms]);
        }

        try
        {
            var full = await ConnectionRegistration.RegisterAsync(GrainFactory, connectionId, record.State, rooms);
            if (full.Count > 0)
            {
                await record.ChangeAsync(s =>
                {
                    s.Rooms.ExceptWith(full);
                    return true;
                });
                rooms = [.. rooms.Except(full, StringComparer.Ordinal)];
            }
        }
        catch (Exception)
        {
            // /connect answers an error and API Gateway refuses the socket: what was registered is taken back.
            await UndoAsync(connectionId, acceptedAt, "connect_failed");
            throw;
        }
        if (CallDeadline.Passed(time))
        {
            // Finished after the API answered 503: undo it, so the caller's "failed" stays true.
            await UndoAsync(connectionId, acceptedAt, "connect_timed_out");
            LogConnectUndone(connectionId);
            throw new TimeoutException($"Connection {connectionId} was registered after the caller's deadline and has been removed again.");
        }
        metrics.Connected();
        LogConnected(connectionId, request.User, rooms.Count);
        return new ConnectResult(AlreadyConnected: false, rooms);
    }

    /// <summary>
    /// The connection's grain removes what this call stored (its repair keeps trying if that fails); a failure to reach
    /// it is logged, and the sweep removes the connection in the end.
    /// </summary>
    private async Task UndoAsync(string connectionId, DateTimeOffset acceptedAt, string cause)
    {
        // The undo outlives the caller's deadline, which has passed or does not matter to it.
        CallDeadline.Forget();
        try
        {
            await GrainFactory.Connection(connectionId).UndoConnect(acceptedAt, cause);
        }
        catch (Exception e)
        {
            LogUndoFailed(connectionId, cause, e.GetType().Name);
        }
    }
}

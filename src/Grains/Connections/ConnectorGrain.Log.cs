using Microsoft.Extensions.Logging;

namespace Tether.Grains;

// 1001 and 1303 are the events ConnectionGrain logged when it served /connect; 1080–1089 are the connector's own.
public sealed partial class ConnectorGrain
{
    [LoggerMessage(1001, LogLevel.Debug, "Connection {ConnectionId} connected (user {User}, {Rooms} rooms)", EventName = "Connected")]
    private partial void LogConnected(string connectionId, string? user, int rooms);

    [LoggerMessage(1303, LogLevel.Warning, "Connection {ConnectionId} finished registering after the API's deadline (the caller was answered 503) and was removed again", EventName = "ConnectUndone")]
    private partial void LogConnectUndone(string connectionId);

    [LoggerMessage(1080, LogLevel.Debug, "Connection {ConnectionId} was stored already (a retried /connect): answered as connected, nothing registered again", EventName = "ConnectRetried")]
    private partial void LogRetried(string connectionId);

    [LoggerMessage(1081, LogLevel.Warning, "Connection {ConnectionId}: taking back its /connect ({Cause}) did not reach its grain ({Error}); the sweep removes it", EventName = "ConnectUndoFailed")]
    private partial void LogUndoFailed(string connectionId, string cause, string error);
}

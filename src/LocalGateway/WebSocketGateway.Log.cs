using Microsoft.Extensions.Logging;

namespace Tether.LocalGateway;

public sealed partial class WebSocketGateway
{
    [LoggerMessage(EventId = 5000, EventName = "ConnectRefused", Level = LogLevel.Information,
        Message = "$connect of {ConnectionId} refused: the integration answered {Status}")]
    private partial void LogConnectRefused(string connectionId, string status);

    [LoggerMessage(EventId = 5001, EventName = "Connected", Level = LogLevel.Information,
        Message = "Connected {ConnectionId} from {SourceIp}")]
    private partial void LogConnected(string connectionId, string sourceIp);

    [LoggerMessage(EventId = 5002, EventName = "Disconnected", Level = LogLevel.Information,
        Message = "Disconnected {ConnectionId} ({Status} {Reason})")]
    private partial void LogDisconnected(string connectionId, int status, string reason);

    [LoggerMessage(EventId = 5003, EventName = "DisconnectNotAccepted", Level = LogLevel.Warning,
        Message = "$disconnect of {ConnectionId} was answered {Status}")]
    private partial void LogDisconnectNotAccepted(string connectionId, string status);
}

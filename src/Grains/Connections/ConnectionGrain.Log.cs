using Microsoft.Extensions.Logging;

namespace Tether.Grains;

public sealed partial class ConnectionGrain
{
    [LoggerMessage(1002, LogLevel.Debug, "Connection {ConnectionId} disconnected ({Reason})", EventName = "Disconnected")]
    private partial void LogDisconnected(string connectionId, string reason);

    [LoggerMessage(1003, LogLevel.Debug, "Connection {ConnectionId} answered 410 while connecting; kept and checked again later", EventName = "GoneWhileConnecting")]
    private partial void LogGoneWhileConnecting(string connectionId);

    [LoggerMessage(1004, LogLevel.Debug, "Connection {ConnectionId} swept ({Why}) and removed everywhere", EventName = "Swept")]
    private partial void LogSwept(string connectionId, string why);

    [LoggerMessage(1005, LogLevel.Debug, "Connection {ConnectionId} gone (410) and removed everywhere", EventName = "Gone")]
    private partial void LogGone(string connectionId);
}

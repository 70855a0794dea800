namespace Tether.Api.Integration;

/// <summary>The integration endpoints' own log lines (EventIds 3030–3039).</summary>
internal static partial class IntegrationLog
{
    [LoggerMessage(3030, LogLevel.Warning, "Connection {ConnectionId} was answered 503 and could not be told to undo its registration: the sweep removes it once API Gateway answers 410", EventName = "ConnectUndoFailed")]
    public static partial void UndoFailed(ILogger logger, Exception exception, string connectionId);
}

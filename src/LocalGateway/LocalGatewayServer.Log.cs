using Microsoft.Extensions.Logging;

namespace Tether.LocalGateway;

public sealed partial class LocalGatewayServer
{
    [LoggerMessage(EventId = 5020, EventName = "LocalGatewayStarted", Level = LogLevel.Information,
        Message = "Local API Gateway (development tool) for {Template}: clients connect to {WebSocketUrl}, the Management API is at {ConnectionUrl}; routes {Routes}")]
    private static partial void LogStarted(ILogger logger, string template, Uri webSocketUrl, Uri connectionUrl, string routes);
}

namespace Tether.Api;

public sealed partial class EmbeddedLocalGateway
{
    [LoggerMessage(EventId = 3020, EventName = "LocalGatewayNotStarted", Level = LogLevel.Information,
        Message = "The local gateway is not started: this host has no listening address (a test server?)")]
    private partial void LogNoListener();

    [LoggerMessage(EventId = 3021, EventName = "PostingPastLocalGateway", Level = LogLevel.Information,
        Message = "The Management API client posts to {Endpoint}, not to the local gateway (ManagementApi__Endpoint or RESPONSE_MESSAGE_URL is set)")]
    private partial void LogPostingElsewhere(Uri endpoint);
}

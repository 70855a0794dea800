namespace Tether.Api.Security;

internal sealed partial class SecurityAnnouncer
{
    [LoggerMessage(EventId = 3010, EventName = "IntegrationSecretRequired", Level = LogLevel.Information,
        Message = "Integration endpoints require the {Header} header ({Count} secret(s) accepted)")]
    private partial void LogSecretRequired(string header, int count);

    [LoggerMessage(EventId = 3011, EventName = "IntegrationPrivateNetwork", Level = LogLevel.Information,
        Message = "Integration endpoints take no secret: Integration__PrivateNetwork says only API Gateway can reach them")]
    private partial void LogPrivateNetwork();

    [LoggerMessage(EventId = 3012, EventName = "IntegrationUnprotected", Level = LogLevel.Warning,
        Message = "INSECURE ({Environment}): no integration secret is configured, so anyone who can reach /connect, /disconnect and /handle-event can forge connects and messages. " +
                  "Set Integration__Secrets__0 and send it in the {Header} header from API Gateway; outside Development this refuses to start.")]
    private partial void LogUnprotected(string environment, string header);

    [LoggerMessage(EventId = 3013, EventName = "UserTokensRequired", Level = LogLevel.Information,
        Message = "/connect requires a JWT in \"token\" (user id from claim {UserClaim}, room patterns from claim {RoomsClaim})")]
    private partial void LogTokensRequired(string userClaim, string roomsClaim);

    [LoggerMessage(EventId = 3014, EventName = "NoAdminApiKey", Level = LogLevel.Information,
        Message = "No admin API key is configured: /api answers 401 until Admin__ApiKeys__0 is set")]
    private partial void LogNoApiKeys();
}

using Tether.Hosting;

namespace Tether.Api.Logging;

/// <summary>Log scopes for the integration endpoints: the connection and API Gateway's request id on every line.</summary>
internal static class RequestLog
{
    public static IDisposable? Begin(HttpRequest request, string connectionId, string? gatewayRequestId)
    {
        var logger = request.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Tether.Api.Integration");
        return LogScopes.BeginRequest(logger, connectionId, gatewayRequestId);
    }

    /// <summary>
    /// API Gateway's <c>request_id</c> from the body, when the request template passes it. Hostile text (an escaped lone
    /// surrogate) is left out rather than thrown on: a log scope must never turn bad input into a 500.
    /// </summary>
    public static string? GatewayRequestId(System.Text.Json.JsonElement root) =>
        root.TryGetProperty("request_id", out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String &&
        Integration.JsonBody.TryGetText(value, out var id) && id.Length is > 0 and <= 128 ? id : null;
}

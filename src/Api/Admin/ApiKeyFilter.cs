using Microsoft.Extensions.Options;
using Tether.Hosting;

namespace Tether.Api.Admin;

/// <summary>Management REST API settings (configuration section <c>Management</c>).</summary>
public sealed class ManagementOptions
{
    public const string Section = "Management";

    /// <summary>Accepted API keys; several at once so a key can be rotated. None configured: <c>/api</c> refuses every call.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Longest a <c>?wait=true</c> call may wait for its deliveries.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// Requires <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c> on <c>/api</c>, compared in constant time
/// against every configured key (<see cref="ApiKeyCheck"/>, shared with the silo's dashboard and metrics pages).
/// </summary>
internal sealed class ApiKeyFilter(IOptionsMonitor<ManagementOptions> options) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var keys = options.CurrentValue.ApiKeys.Where(k => !string.IsNullOrEmpty(k)).ToList();
        if (keys.Count == 0)
        {
            return ValueTask.FromResult<object?>(Results.Problem(statusCode: 401, title: "Management API disabled",
                detail: "No management API key is configured. Set Management__ApiKeys__0 to enable /api."));
        }

        var presented = ApiKeyCheck.Presented(context.HttpContext.Request);
        if (presented is null || !ApiKeyCheck.Matches(keys, presented))
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return ValueTask.FromResult<object?>(Results.Problem(statusCode: 401, title: "Unauthorized",
                detail: "Send a valid API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'."));
        }
        return next(context);
    }
}

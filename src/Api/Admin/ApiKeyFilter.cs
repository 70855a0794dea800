using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Tether.Api.Admin;

/// <summary>Management REST API settings (configuration section <c>Management</c>).</summary>
public sealed class ManagementOptions
{
    public const string Section = "Management";

    /// <summary>Shortest key accepted: a guessable key protects nothing.</summary>
    public const int MinKeyLength = 16;

    /// <summary>Accepted API keys; several at once so a key can be rotated. None configured: <c>/api</c> refuses every call.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Longest a <c>?wait=true</c> call may wait for its deliveries.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// Requires <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c> on <c>/api</c>, compared in constant time
/// against every configured key.
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

        var presented = Presented(context.HttpContext.Request);
        // Every key is compared (no early exit), so timing does not tell which key of a rotation matched.
        var match = false;
        if (presented is not null)
        {
            foreach (var key in keys) match |= FixedTimeEquals(key, presented);
        }
        if (!match)
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return ValueTask.FromResult<object?>(Results.Problem(statusCode: 401, title: "Unauthorized",
                detail: "Send a valid API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'."));
        }
        return next(context);
    }

    private static string? Presented(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        var apiKey = request.Headers["X-Api-Key"].ToString();
        return apiKey.Length > 0 ? apiKey : null;
    }

    /// <summary>Hashing first makes the comparison independent of both lengths as well as of the contents.</summary>
    private static bool FixedTimeEquals(string expected, string presented) =>
        CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)), SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
}

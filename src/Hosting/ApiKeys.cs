using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tether.Hosting;

/// <summary>The management API keys (<c>Management:ApiKeys:0</c>, <c>:1</c>, …), shared by every administrative surface.</summary>
public sealed class ApiKeyOptions
{
    public const string Section = "Management";

    /// <summary>Shortest key accepted: a guessable key protects nothing.</summary>
    public const int MinKeyLength = 16;

    public List<string> ApiKeys { get; set; } = [];

    public IReadOnlyList<string> Configured => [.. ApiKeys.Where(k => !string.IsNullOrEmpty(k))];
}

/// <summary>How a key is presented and compared; the one place both hosts use.</summary>
public static class ApiKeyCheck
{
    /// <summary>
    /// The key from <c>Authorization: Bearer</c>, <c>X-Api-Key</c>, or (when <paramref name="allowBasic"/>) the password of
    /// <c>Authorization: Basic</c>, which is what a browser sends after its login prompt.
    /// </summary>
    public static string? Presented(HttpRequest request, bool allowBasic = false)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        if (allowBasic && AuthenticationHeaderValue.TryParse(header, out var parsed) &&
            string.Equals(parsed.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) && parsed.Parameter is { } encoded)
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
                var colon = pair.IndexOf(':', StringComparison.Ordinal);
                if (colon >= 0 && colon < pair.Length - 1) return pair[(colon + 1)..];
            }
            catch (FormatException)
            {
                return null;
            }
        }
        var apiKey = request.Headers["X-Api-Key"].ToString();
        return apiKey.Length > 0 ? apiKey : null;
    }

    /// <summary>Compares against every key in constant time; hashing first makes it independent of both lengths too.</summary>
    public static bool Matches(IEnumerable<string> keys, string presented) =>
        MatchesAnyDigest([.. keys.Select(Digest)], Digest(presented));

    /// <summary>The SHA-256 of a secret's UTF-8 bytes: what <see cref="MatchesAnyDigest"/> compares.</summary>
    public static byte[] Digest(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>
    /// The one constant-time comparison of every secret check (API keys, integration secrets): digests against every
    /// expected digest, without an early exit, so neither a secret's contents nor its length nor which one matched shows
    /// in the timing.
    /// </summary>
    public static bool MatchesAnyDigest(IReadOnlyList<byte[]> expected, ReadOnlySpan<byte> presentedDigest)
    {
        var match = false;
        foreach (var digest in expected)
        {
            match |= CryptographicOperations.FixedTimeEquals(digest, presentedDigest);
        }
        return match;
    }
}

/// <summary>Marks an endpoint that needs a management API key; <see cref="ApiKeyMiddleware"/> enforces it.</summary>
public sealed class ApiKeyRequired;

/// <summary>
/// Enforces <see cref="ApiKeyRequired"/> on any endpoint, including those that are not minimal-API handlers (the Prometheus
/// scrape endpoint) and those mapped by libraries (the Orleans Dashboard). A plain middleware rather than an
/// authentication scheme: it never becomes a default scheme other code could trip over.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, IOptionsMonitor<ApiKeyOptions> keys)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ApiKeyRequired>() is null) return next(context);

        var configured = keys.CurrentValue.Configured;
        var presented = ApiKeyCheck.Presented(context.Request, allowBasic: true);
        if (configured.Count > 0 && presented is not null && ApiKeyCheck.Matches(configured, presented)) return next(context);

        // Basic makes a browser prompt (any user name, the key as password); scripts send a Bearer token.
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.Append("WWW-Authenticate", "Basic realm=\"Tether\", charset=\"UTF-8\"");
        context.Response.Headers.Append("WWW-Authenticate", "Bearer");
        return Results.Problem(statusCode: 401, title: "Unauthorized", detail: configured.Count == 0
            ? "No management API key is configured. Set Management__ApiKeys__0 to enable this page."
            : "Send a valid API key as 'Authorization: Bearer <key>', 'X-Api-Key: <key>' or as the password of Basic authentication.")
            .ExecuteAsync(context);
    }
}

public static class ApiKeyExtensions
{
    public static IServiceCollection AddTetherApiKeys(this IServiceCollection services, IConfiguration configuration)
    {
        // Checked here, where both hosts register the keys: the silo's dashboard and metrics need the same strength as /api.
        services.AddOptions<ApiKeyOptions>().Bind(configuration.GetSection(ApiKeyOptions.Section))
            .Validate(o => o.Configured.All(k => k.Length is >= ApiKeyOptions.MinKeyLength and <= 1024),
                $"Every Management:ApiKeys entry must be {ApiKeyOptions.MinKeyLength} to 1024 characters.")
            .ValidateOnStart();
        return services;
    }

    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ApiKeyRequired());
}

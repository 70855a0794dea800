using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Tether.Hosting;

/// <summary>
/// Checks admin API keys for every admin surface. The keys' digests are computed once per options value (a
/// configuration reload makes a new one), not per request.
/// </summary>
public sealed class ApiKeyGate(IOptionsMonitor<AdminOptions> options)
{
    private ExpectedKeys? _expected;

    /// <summary>Whether any key is configured; without one every admin surface is closed.</summary>
    public bool Enabled => Expected().Digests.Length > 0;

    public bool Accepts(string? presented) => SecretDigests.MatchesAny(Expected().Digests, presented);

    /// <summary>
    /// The key from <c>Authorization: Bearer</c>, <c>X-Api-Key</c>, or (when <paramref name="allowBasic"/>) the password of
    /// <c>Authorization: Basic</c>, which is what a browser sends after its login prompt.
    /// </summary>
    public static string? Presented(HttpRequest request, bool allowBasic)
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

    private ExpectedKeys Expected()
    {
        var current = options.CurrentValue;
        var expected = _expected;
        if (expected is not null && ReferenceEquals(expected.Source, current)) return expected;
        expected = new ExpectedKeys(current, [.. current.ConfiguredKeys.Select(SecretDigests.Digest)]);
        _expected = expected;
        return expected;
    }

    private sealed record ExpectedKeys(AdminOptions Source, byte[][] Digests);
}

/// <summary>Marks an endpoint that needs an admin API key; <see cref="ApiKeyMiddleware"/> enforces it.</summary>
/// <param name="AllowBasic">Whether the key may come as a Basic password: pages a browser opens prompt for it.</param>
public sealed record ApiKeyRequired(bool AllowBasic);

/// <summary>
/// Enforces <see cref="ApiKeyRequired"/> on any endpoint, including those that are not minimal-API handlers (the Prometheus
/// scrape endpoint) and those mapped by libraries (the Orleans Dashboard). A plain middleware rather than an
/// authentication scheme: it never becomes a default scheme other code could trip over.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyGate gate)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ApiKeyRequired>() is not { } required) return next(context);
        if (gate.Accepts(ApiKeyGate.Presented(context.Request, required.AllowBasic))) return next(context);

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        // Basic makes a browser prompt (any user name, the key as password); scripts send a Bearer token.
        if (required.AllowBasic) context.Response.Headers.Append("WWW-Authenticate", "Basic realm=\"Tether\", charset=\"UTF-8\"");
        context.Response.Headers.Append("WWW-Authenticate", "Bearer");
        var problem = gate.Enabled
            ? Results.Problem(statusCode: 401, title: "Unauthorized", detail: required.AllowBasic
                ? "Send a valid API key as 'Authorization: Bearer <key>', 'X-Api-Key: <key>' or as the password of Basic authentication."
                : "Send a valid API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.")
            : Results.Problem(statusCode: 401, title: "Admin API disabled",
                detail: "No admin API key is configured. Set Admin__ApiKeys__0 to enable /api, the OpenAPI document, metrics and the dashboard.");
        return problem.ExecuteAsync(context);
    }
}

public static class ApiKeyExtensions
{
    public static IServiceCollection AddTetherApiKeys(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AdminOptions>().Bind(configuration.GetSection(AdminOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdminOptions>, AdminOptionsValidator>());
        services.TryAddSingleton<ApiKeyGate>();
        return services;
    }

    /// <summary>Puts the endpoints behind the admin API keys; <paramref name="allowBasic"/> for pages a browser opens.</summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder, bool allowBasic = true) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ApiKeyRequired(allowBasic));
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Tether.Api.Integration;
using Tether.Hosting;

namespace Tether.Api.Security;

/// <summary>
/// Requires one of the configured integration secrets in the secret header on <c>/connect</c>, <c>/disconnect</c>
/// and <c>/handle-event</c> (contract §1). Runs before the body is read, so a forged request costs one hash.
/// </summary>
internal sealed class IntegrationSecretFilter(IOptionsMonitor<IntegrationOptions> options) : IEndpointFilter
{
    /// <summary>Longer header values are refused without hashing; no configured secret is that long.</summary>
    private const int MaxPresentedBytes = 1024;

    private ExpectedSecrets? _expected;

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var expected = Expected();
        if (expected.Hashes.Length == 0) return next(context);

        var values = context.HttpContext.Request.Headers[expected.Header];
        if (values.Count == 1 && Matches(expected.Hashes, values[0]))
        {
            return next(context);
        }
        return ValueTask.FromResult<object?>(Replies.Error(401, "unauthorized",
            $"This endpoint is for API Gateway's integration: the {expected.Header} header is missing or wrong."));
    }

    /// <summary>Hashes the presented value without allocating and compares it with <see cref="ApiKeyCheck.MatchesAnyDigest"/>.</summary>
    private static bool Matches(byte[][] hashes, string? presented)
    {
        if (string.IsNullOrEmpty(presented) || presented.Length > MaxPresentedBytes) return false;
        Span<byte> bytes = stackalloc byte[MaxPresentedBytes * 3];
        var length = Encoding.UTF8.GetBytes(presented, bytes);
        if (length > MaxPresentedBytes) return false;
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..length], digest);
        return ApiKeyCheck.MatchesAnyDigest(hashes, digest);
    }

    /// <summary>Digests are computed once per options instance (configuration reloads make a new one).</summary>
    private ExpectedSecrets Expected()
    {
        var current = options.CurrentValue;
        var expected = _expected;
        if (expected is not null && ReferenceEquals(expected.Source, current)) return expected;
        expected = new ExpectedSecrets(current, current.SecretHeader,
            [.. current.ConfiguredSecrets.Select(ApiKeyCheck.Digest)]);
        _expected = expected;
        return expected;
    }

    private sealed record ExpectedSecrets(IntegrationOptions Source, string Header, byte[][] Hashes);
}

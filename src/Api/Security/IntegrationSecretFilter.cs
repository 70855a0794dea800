using Microsoft.Extensions.Options;
using Tether.Api.Integration;
using Tether.Hosting;

namespace Tether.Api.Security;

/// <summary>
/// Requires one of the configured integration secrets in the secret header on <c>/connect</c>, <c>/disconnect</c>
/// and <c>/handle-event</c>. Runs before the body is read, so a forged request costs one hash. Shared by the
/// endpoints (<see cref="Hosting.SharedEndpointFilter"/>) so the digests are computed once per options value.
/// </summary>
internal sealed class IntegrationSecretFilter(IOptionsMonitor<IntegrationOptions> options) : IEndpointFilter
{
    private ExpectedSecrets? _expected;

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var expected = Expected();
        if (expected.Hashes.Length == 0) return next(context);

        var values = context.HttpContext.Request.Headers[expected.Header];
        if (values.Count == 1 && SecretDigests.MatchesAny(expected.Hashes, values[0]))
        {
            return next(context);
        }
        return ValueTask.FromResult<object?>(Replies.Error(401, "unauthorized",
            $"This endpoint is for API Gateway's integration: the {expected.Header} header is missing or wrong."));
    }

    /// <summary>Digests are computed once per options instance (configuration reloads make a new one).</summary>
    private ExpectedSecrets Expected()
    {
        var current = options.CurrentValue;
        var expected = _expected;
        if (expected is not null && ReferenceEquals(expected.Source, current)) return expected;
        expected = new ExpectedSecrets(current, current.SecretHeader,
            [.. current.ConfiguredSecrets.Select(SecretDigests.Digest)]);
        _expected = expected;
        return expected;
    }

    private sealed record ExpectedSecrets(IntegrationOptions Source, string Header, byte[][] Hashes);
}

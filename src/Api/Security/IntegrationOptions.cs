using Microsoft.Extensions.Options;

namespace Tether.Api.Integration;

/// <summary>Integration endpoint settings (configuration section <c>Integration</c>).</summary>
public sealed class IntegrationOptions
{
    public const string Section = "Integration";

    /// <summary>Shortest secret accepted: a guessable secret protects nothing.</summary>
    public const int MinSecretLength = 16;

    public const int MaxSecretLength = 1024;

    public const int MinBodyBytes = 1024;

    public const int MaxBodyBytesLimit = 16 * 1024 * 1024;

    /// <summary>Largest request body accepted; a 128 KiB message can grow when a template escapes it.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The header API Gateway's integration request parameters add (<c>integration.request.header.X-Gateway-Secret</c>).</summary>
    public string SecretHeader { get; set; } = "X-Gateway-Secret";

    /// <summary>Accepted secrets; several at once so one can be rotated without downtime. Empty: no check.</summary>
    public List<string> Secrets { get; set; } = [];

    /// <summary>
    /// The operator's statement that only API Gateway can reach the integration endpoints (VPC link to an internal
    /// load balancer, or a client certificate checked in front of us). Lets a non-Development host start without a secret.
    /// </summary>
    public bool PrivateNetwork { get; set; }

    public IReadOnlyList<string> ConfiguredSecrets => [.. Secrets.Where(s => !string.IsNullOrEmpty(s))];
}

/// <summary>
/// Refuses to start with unsafe integration settings: outside Development, a host reachable from the internet
/// without a secret would let anyone forge connects and messages.
/// </summary>
internal sealed class IntegrationOptionsValidator(IHostEnvironment environment) : IValidateOptions<IntegrationOptions>
{
    public ValidateOptionsResult Validate(string? name, IntegrationOptions options)
    {
        var problems = new List<string>();
        if (options.MaxBodyBytes is < IntegrationOptions.MinBodyBytes or > IntegrationOptions.MaxBodyBytesLimit)
        {
            problems.Add($"Integration__MaxBodyBytes must be {IntegrationOptions.MinBodyBytes} to {IntegrationOptions.MaxBodyBytesLimit}.");
        }
        if (string.IsNullOrWhiteSpace(options.SecretHeader) || !options.SecretHeader.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            problems.Add("Integration__SecretHeader must be a header name (letters, digits, '-' and '_').");
        }
        if (options.ConfiguredSecrets.Any(s => s.Length is < IntegrationOptions.MinSecretLength or > IntegrationOptions.MaxSecretLength || s.Any(c => c < 0x21 || c > 0x7e)))
        {
            // Never echo the secret itself.
            problems.Add($"Every Integration__Secrets__N entry must be {IntegrationOptions.MinSecretLength} to {IntegrationOptions.MaxSecretLength} visible ASCII characters (e.g. `openssl rand -base64 32`).");
        }
        if (options.ConfiguredSecrets.Count == 0 && !options.PrivateNetwork && !environment.IsDevelopment())
        {
            problems.Add(
                $"No integration secret is configured, so anyone who finds this backend's URL could forge connects and messages. " +
                $"Set Integration__Secrets__0 and have API Gateway send it in the {options.SecretHeader} header, or, when only API Gateway can " +
                $"reach these endpoints (VPC link or client certificate), set Integration__PrivateNetwork=true. (Environment: {environment.EnvironmentName}.)");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

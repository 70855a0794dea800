using Microsoft.Extensions.Options;
using Tether.Api.Integration;
using Tether.Hosting;

namespace Tether.Api.Security;

/// <summary>Wires integration secrets and end-user tokens, each validated at start (admin API keys are Tether.Hosting's).</summary>
internal static class SecuritySetup
{
    public static IServiceCollection AddTetherSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<IntegrationOptions, IntegrationOptionsValidator>(configuration.GetSection(IntegrationOptions.Section));
        services.AddValidatedOptions<JwtOptions, JwtOptionsValidator>(configuration.GetSection(JwtOptions.Section));
        services.AddSingleton<UserTokenValidator>();
        services.AddSingleton<IIntegrationSecurityStatus, IntegrationSecurityStatus>();
        services.AddHostedService<SecurityAnnouncer>();
        return services;
    }

    /// <summary>For the start line: how the integration endpoints are protected, as counts only.</summary>
    private sealed class IntegrationSecurityStatus(IOptions<IntegrationOptions> options) : IIntegrationSecurityStatus
    {
        public string Describe() => options.Value.ConfiguredSecrets.Count is var count and > 0
            ? $"{count} configured"
            : options.Value.PrivateNetwork ? "not configured (Integration__PrivateNetwork)" : "not configured (any caller is accepted)";
    }
}

/// <summary>
/// Says at start what is protected and how, never with the secret values; builds the token validator so a
/// key that does not load stops the start instead of failing the first <c>/connect</c>.
/// </summary>
internal sealed partial class SecurityAnnouncer(
    IOptions<IntegrationOptions> integration, IOptions<AdminOptions> admin, UserTokenValidator tokens,
    IOptions<JwtOptions> jwt, IHostEnvironment environment, ILogger<SecurityAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = integration.Value;
        var secrets = options.ConfiguredSecrets.Count;
        if (secrets > 0) LogSecretRequired(options.SecretHeader, secrets);
        else if (options.PrivateNetwork) LogPrivateNetwork();
        else LogUnprotected(environment.EnvironmentName, options.SecretHeader);

        if (tokens.Enabled) LogTokensRequired(jwt.Value.UserClaim, jwt.Value.RoomsClaim ?? "(none)");
        if (admin.Value.ConfiguredKeys.Count == 0) LogNoApiKeys();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

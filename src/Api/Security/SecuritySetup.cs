using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Tether.Api.Admin;
using Tether.Api.Integration;

namespace Tether.Api.Security;

/// <summary>Wires integration secrets, end-user tokens and management API keys, each validated at start.</summary>
internal static partial class SecuritySetup
{
    public static IServiceCollection AddTetherSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IntegrationOptions>().Bind(configuration.GetSection(IntegrationOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IntegrationOptions>, IntegrationOptionsValidator>());
        // The keys' length rule lives with ApiKeyOptions (same section), checked by both hosts.
        services.AddOptions<ManagementOptions>().Bind(configuration.GetSection(ManagementOptions.Section))
            .Validate(o => o.MaxWait > TimeSpan.Zero, "Management:MaxWait must be positive.")
            .ValidateOnStart();
        services.AddOptions<JwtOptions>().Bind(configuration.GetSection(JwtOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JwtOptions>, JwtOptionsValidator>());
        services.AddSingleton<UserTokenValidator>();
        services.AddHostedService<SecurityAnnouncer>();
        return services;
    }

    /// <summary>
    /// Says at start what is protected and how, never with the secret values; builds the token validator so a
    /// key that does not load stops the start instead of failing the first <c>/connect</c>.
    /// </summary>
    private sealed partial class SecurityAnnouncer(
        IOptions<IntegrationOptions> integration, IOptions<ManagementOptions> management, UserTokenValidator tokens,
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
            var keys = management.Value.ApiKeys.Count(k => !string.IsNullOrEmpty(k));
            if (keys == 0) LogNoApiKeys();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Integration endpoints require the {Header} header ({Count} secret(s) accepted)")]
        private partial void LogSecretRequired(string header, int count);

        [LoggerMessage(Level = LogLevel.Information, Message = "Integration endpoints take no secret: Integration:PrivateNetwork says only API Gateway can reach them")]
        private partial void LogPrivateNetwork();

        [LoggerMessage(Level = LogLevel.Warning, Message = "INSECURE ({Environment}): no integration secret is configured, so anyone who can reach /connect, /disconnect and /handle-event can forge connects and messages. Set Integration__Secrets__0 and send it in the {Header} header from API Gateway; outside Development this refuses to start.")]
        private partial void LogUnprotected(string environment, string header);

        [LoggerMessage(Level = LogLevel.Information, Message = "/connect requires a JWT in \"token\" (user id from claim {UserClaim}, room patterns from claim {RoomsClaim})")]
        private partial void LogTokensRequired(string userClaim, string roomsClaim);

        [LoggerMessage(Level = LogLevel.Information, Message = "No management API key is configured: /api answers 401 until Management__ApiKeys__0 is set")]
        private partial void LogNoApiKeys();
    }
}

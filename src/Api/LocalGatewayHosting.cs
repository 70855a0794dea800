using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Tether.Api.Integration;
using Tether.Delivery;
using Tether.Hosting;
using Tether.LocalGateway;

namespace Tether.Api;

/// <summary>
/// The one-command development shape: in the embedded default (no Redis, not Production) the API also hosts the
/// local API Gateway, configured from <c>infra/websocket-api.json</c> and calling this process's own endpoints.
/// </summary>
public static class LocalGatewayHosting
{
    public static WebApplicationBuilder AddEmbeddedLocalGateway(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (TetherClusterExtensions.RedisConnectionString(configuration) is not null || builder.Environment.IsProduction()) return builder;
        var section = configuration.GetSection(LocalGatewayOptions.Section);
        // Whether the gateway runs decides what is registered, so this one value is bound before the container exists.
        if (!(section.Get<LocalGatewayOptions>() ?? new LocalGatewayOptions()).Enabled) return builder;

        builder.Services.AddValidatedOptions<LocalGatewayOptions, LocalGatewayOptionsValidator>(section);
        // In Development, post where the gateway listens unless ManagementApi__Endpoint (or RESPONSE_MESSAGE_URL) says
        // otherwise; elsewhere the endpoint is always stated.
        if (builder.Environment.IsDevelopment())
        {
            builder.Services.AddOptions<ManagementApiOptions>().PostConfigure<IOptions<LocalGatewayOptions>>((management, gateway) =>
            {
                if (string.IsNullOrWhiteSpace(management.Endpoint)) management.Endpoint = $"http://localhost:{gateway.Value.Port}/{gateway.Value.Stage}";
            });
        }

        builder.Services.AddSingleton<EmbeddedLocalGateway>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EmbeddedLocalGateway>());
        return builder;
    }
}

/// <summary>Starts the gateway once the API listens (its address is the backend URL) and stops it with the API.</summary>
public sealed partial class EmbeddedLocalGateway(
    IOptions<LocalGatewayOptions> options, IOptions<IntegrationOptions> integration, IServer server, IServiceProvider services, ILoggerFactory loggerFactory)
    : IHostedLifecycleService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Tether.LocalGateway");

    /// <summary>The running gateway; null until the API has started (or when it cannot run, e.g. on a test server).</summary>
    public LocalGatewayServer? Server { get; private set; }

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var backend = settings.BackendUrl ?? OwnAddress();
        if (backend is null)
        {
            LogNoListener();
            return;
        }

        // The integration secret the backend expects travels as the stage variable the template maps to the header.
        var secrets = integration.Value.ConfiguredSecrets;
        var secret = secrets.Count > 0 ? secrets[0] : "";
        var stageVariables = new Dictionary<string, string>(settings.StageVariables, StringComparer.Ordinal);
        stageVariables.TryAdd(LocalGatewayOptions.SecretStageVariable, secret);

        var target = services.GetRequiredService<ManagementApiTarget>();
        var credential = await AcceptedCredentialAsync(settings, target);
        var effective = new LocalGatewayOptions
        {
            Port = settings.Port,
            Stage = settings.Stage,
            BackendUrl = backend,
            TemplatePath = settings.TemplatePath,
            Parameters = settings.Parameters,
            StageVariables = stageVariables,
            IdleTimeout = settings.IdleTimeout,
            MaxLifetime = settings.MaxLifetime,
            Faults = settings.Faults,
        };
        Server = await LocalGatewayServer.StartAsync(effective, [credential], settings.Region ?? target.Region, loggerFactory);
        if (!string.Equals(target.Endpoint.ToString().TrimEnd('/'), Server.ConnectionUrl.ToString().TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
        {
            LogPostingElsewhere(target.Endpoint);
        }
    }

    /// <summary>LocalGateway credentials if set, else the ones the backend signs with, so the embedded pair always agrees.</summary>
    private static async Task<AcceptedCredential> AcceptedCredentialAsync(LocalGatewayOptions settings, ManagementApiTarget target)
    {
        if (!string.IsNullOrEmpty(settings.AccessKeyId) && !string.IsNullOrEmpty(settings.SecretAccessKey))
        {
            return new AcceptedCredential(settings.AccessKeyId, settings.SecretAccessKey);
        }
        var credentials = await target.Credentials.GetCredentialsAsync();
        return new AcceptedCredential(credentials.AccessKey, credentials.SecretKey);
    }

    /// <summary>The API's own http address (preferred over https), with wildcard hosts made loopback.</summary>
    private string? OwnAddress()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var chosen = addresses.OrderBy(a => a.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ? 1 : 0).FirstOrDefault();
        if (chosen is null || !Uri.TryCreate(chosen.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1"), UriKind.Absolute, out var uri)) return null;
        var host = uri.Host is "0.0.0.0" or "[::]" or "::" ? "127.0.0.1" : uri.Host;
        return new UriBuilder(uri) { Host = host, Path = "" }.Uri.ToString().TrimEnd('/');
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (Server is { } running)
        {
            Server = null;
            await running.DisposeAsync();
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (Server is { } running)
        {
            Server = null;
            await running.DisposeAsync();
        }
    }
}

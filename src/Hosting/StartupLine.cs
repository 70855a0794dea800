using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tether.Delivery;

namespace Tether.Hosting;

/// <summary>What a host is, for its one start line.</summary>
/// <param name="Role">api or silo.</param>
/// <param name="Mode">embedded (one process, localhost clustering, in-memory state) or cluster.</param>
/// <param name="OpenApiPath">Where the OpenAPI document is served, if this host serves one.</param>
public sealed record TetherHostDescription(string Role, string Mode, string? OpenApiPath = null);

/// <summary>
/// Logs one line once the host has started, saying everything an operator checks first: mode, where it listens,
/// where it posts, and the state of authentication (counts and yes/no only, never a secret).
/// </summary>
internal sealed partial class StartupLine(
    TetherHostDescription host, IServiceProvider services, IConfiguration configuration,
    IHostApplicationLifetime lifetime, ILogger<StartupLine> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Log);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Log()
    {
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        var listening = addresses is { Count: > 0 } ? string.Join(' ', addresses) : "(no HTTP listener)";
        var management = services.GetService<ManagementApiTarget>() is { } target
            ? target.Endpoint.ToString().TrimEnd('/')
            : "(not posting from this process)";
        var secrets = configuration.GetSection("Integration:Secrets").GetChildren().Count(c => !string.IsNullOrEmpty(c.Value));
        var keys = services.GetService<IOptions<ApiKeyOptions>>()?.Value.Configured.Count
                   ?? configuration.GetSection("Management:ApiKeys").GetChildren().Count(c => !string.IsNullOrEmpty(c.Value));
        var dashboard = services.GetService<TetherDashboardOptions>()?.Path ?? "off";
        var telemetry = services.GetService<IOptions<TelemetryOptions>>()?.Value.Describe(configuration) ?? "none";

        LogStarted(host.Role, host.Mode, listening, management,
            secrets == 0 ? "not configured (any caller is accepted)" : $"{secrets} configured",
            keys, dashboard, host.OpenApiPath ?? "off", telemetry);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Tether {Role} started: mode {Mode}; listening on {Addresses}; Management API {ManagementUrl}; integration secret {IntegrationSecret}; " +
                  "management API keys {ApiKeyCount}; health /health/live, /health/ready; dashboard {Dashboard}; OpenAPI {OpenApi}; telemetry export {Telemetry}")]
    private partial void LogStarted(string role, string mode, string addresses, string managementUrl, string integrationSecret,
        int apiKeyCount, string dashboard, string openApi, string telemetry);
}

public static class StartupLineExtensions
{
    public static IServiceCollection AddTetherStartupLine(this IServiceCollection services, TetherHostDescription host)
    {
        services.AddSingleton(host);
        services.AddHostedService<StartupLine>();
        return services;
    }
}

using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
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

/// <summary>How this host's integration endpoints are protected, for the start line; registered by the host that serves them.</summary>
public interface IIntegrationSecurityStatus
{
    /// <summary>Counts and yes/no only, never a secret.</summary>
    string Describe();
}

/// <summary>
/// Logs one line once the host has started, saying everything an operator checks first: mode, where it listens,
/// where it posts, and the state of authentication (counts and yes/no only, never a secret).
/// </summary>
internal sealed partial class StartupLine(
    TetherHostDescription host, IServiceProvider services, IOptions<AdminOptions> admin, IOptions<TelemetryOptions> telemetry,
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
        var integration = services.GetService<IIntegrationSecurityStatus>()?.Describe() ?? "n/a (no integration endpoints)";
        var dashboard = TetherDashboard.MappedPath(services) ?? "off";

        LogStarted(host.Role, host.Mode, listening, management, integration, admin.Value.ConfiguredKeys.Count, dashboard,
            host.OpenApiPath ?? "off", telemetry.Value.Describe());
    }
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

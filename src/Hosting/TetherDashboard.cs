using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Dashboard;

namespace Tether.Hosting;

/// <summary>The Orleans Dashboard on a silo host (configuration section <c>Dashboard</c>).</summary>
public sealed class TetherDashboardOptions
{
    public const string Section = "Dashboard";

    public bool Enabled { get; set; } = true;

    /// <summary>Where it is served; always behind the management API key.</summary>
    public string Path { get; set; } = "/dashboard";

    /// <summary>How often the dashboard refreshes its counters.</summary>
    public int CounterUpdateIntervalMs { get; set; } = 1000;

    /// <summary>Hides the live log stream (its <c>/Trace</c> page), which shows connection ids and user names.</summary>
    public bool HideTrace { get; set; }
}

public static class TetherDashboard
{
    /// <summary>Adds the dashboard's silo services (grain statistics, profiling) when <c>Dashboard:Enabled</c> (default true).</summary>
    public static ISiloBuilder AddTetherDashboard(this ISiloBuilder silo, IConfiguration configuration)
    {
        var options = configuration.GetSection(TetherDashboardOptions.Section).Get<TetherDashboardOptions>() ?? new TetherDashboardOptions();
        if (!options.Enabled) return silo;
        if (!options.Path.StartsWith('/') || options.Path.Length < 2)
        {
            throw new InvalidOperationException($"Dashboard:Path '{options.Path}' must start with '/' and not be the root: the host serves health endpoints too.");
        }
        if (options.CounterUpdateIntervalMs < 100)
        {
            throw new InvalidOperationException("Dashboard:CounterUpdateIntervalMs must be at least 100.");
        }
        silo.Services.AddSingleton(options);
        silo.AddDashboard(o =>
        {
            o.CounterUpdateIntervalMs = options.CounterUpdateIntervalMs;
            o.HideTrace = options.HideTrace;
        });
        return silo;
    }

    /// <summary>Maps the dashboard behind the management API key (browsers get a login prompt: any user, the key as password).</summary>
    public static IEndpointRouteBuilder MapTetherDashboard(this IEndpointRouteBuilder app)
    {
        if (app.ServiceProvider.GetService<TetherDashboardOptions>() is { } options)
        {
            app.MapOrleansDashboard(options.Path)
                .RequireApiKey()
                .ExcludeFromDescription();
        }
        return app;
    }
}

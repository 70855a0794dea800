using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;

namespace Tether.Hosting;

/// <summary>The Orleans Dashboard on a silo host (configuration section <c>Dashboard</c>).</summary>
public sealed class TetherDashboardOptions
{
    public const string Section = "Dashboard";

    public const int MinCounterUpdateIntervalMs = 100;

    public bool Enabled { get; set; } = true;

    /// <summary>Where it is served; always behind the admin API key.</summary>
    public string Path { get; set; } = "/dashboard";

    /// <summary>How often the dashboard refreshes its counters.</summary>
    public int CounterUpdateIntervalMs { get; set; } = 1000;

    /// <summary>Hides the live log stream (its <c>/Trace</c> page), which shows connection ids and user names.</summary>
    public bool HideTrace { get; set; }
}

internal sealed class TetherDashboardOptionsValidator : IValidateOptions<TetherDashboardOptions>
{
    public ValidateOptionsResult Validate(string? name, TetherDashboardOptions options)
    {
        if (!options.Enabled) return ValidateOptionsResult.Success;
        var problems = new List<string>();
        if (!options.Path.StartsWith('/') || options.Path.Length < 2)
        {
            problems.Add($"Dashboard__Path '{options.Path}' must start with '/' and not be the root: the host serves health endpoints too.");
        }
        if (options.CounterUpdateIntervalMs < TetherDashboardOptions.MinCounterUpdateIntervalMs)
        {
            problems.Add($"Dashboard__CounterUpdateIntervalMs must be at least {TetherDashboardOptions.MinCounterUpdateIntervalMs}.");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

public static class TetherDashboard
{
    /// <summary>Adds the dashboard's silo services (grain statistics, profiling) when <c>Dashboard__Enabled</c> (default true).</summary>
    public static ISiloBuilder AddTetherDashboard(this ISiloBuilder silo, IConfiguration configuration)
    {
        var section = configuration.GetSection(TetherDashboardOptions.Section);
        // Whether the dashboard exists decides what is registered, so this one value is bound before the container exists.
        if (!(section.Get<TetherDashboardOptions>() ?? new TetherDashboardOptions()).Enabled) return silo;

        silo.Services.AddOptions<TetherDashboardOptions>().Bind(section).ValidateOnStart();
        silo.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TetherDashboardOptions>, TetherDashboardOptionsValidator>());
        silo.Services.AddSingleton<DashboardAdded>();
        silo.AddDashboard();
        silo.Services.AddOptions<DashboardOptions>().Configure<IOptions<TetherDashboardOptions>>((dashboard, ours) =>
        {
            dashboard.CounterUpdateIntervalMs = ours.Value.CounterUpdateIntervalMs;
            dashboard.HideTrace = ours.Value.HideTrace;
        });
        return silo;
    }

    /// <summary>Maps the dashboard behind the admin API key (browsers get a login prompt: any user, the key as password).</summary>
    public static IEndpointRouteBuilder MapTetherDashboard(this IEndpointRouteBuilder app)
    {
        if (MappedPath(app.ServiceProvider) is { } path)
        {
            app.MapOrleansDashboard(path)
                .RequireApiKey()
                .ExcludeFromDescription();
        }
        return app;
    }

    /// <summary>Where the dashboard is served, or null when this host has none.</summary>
    internal static string? MappedPath(IServiceProvider services) =>
        services.GetService<DashboardAdded>() is null ? null : services.GetRequiredService<IOptions<TetherDashboardOptions>>().Value.Path;

    /// <summary>Marks a host whose silo has the dashboard's services.</summary>
    private sealed class DashboardAdded;
}

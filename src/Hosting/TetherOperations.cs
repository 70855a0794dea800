using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;

namespace Tether.Hosting;

/// <summary>What every Tether host (API or silo) exposes to its operators, in one call each from Program.cs.</summary>
public static class TetherOperations
{
    /// <summary>Telemetry, health checks, admin API keys for the admin surfaces, and the start line.</summary>
    /// <param name="defaultUrls">Where to listen when neither <c>--urls</c>, <c>ASPNETCORE_URLS</c> nor <c>ASPNETCORE_HTTP_PORTS</c> says.</param>
    public static WebApplicationBuilder AddTetherOperations(this WebApplicationBuilder builder, TetherHostDescription host, string? defaultUrls = null)
    {
        var web = builder.WebHost;
        if (defaultUrls is not null && string.IsNullOrEmpty(web.GetSetting(WebHostDefaults.ServerUrlsKey)) &&
            string.IsNullOrEmpty(web.GetSetting(WebHostDefaults.HttpPortsKey)) && string.IsNullOrEmpty(web.GetSetting(WebHostDefaults.HttpsPortsKey)))
        {
            builder.WebHost.UseUrls(defaultUrls);
        }
        builder.AddTetherTelemetry("tether-" + host.Role);
        builder.Services.AddTetherHealth(builder.Configuration);
        builder.Services.AddTetherApiKeys(builder.Configuration);
        builder.Services.AddTetherStartupLine(host);
        return builder;
    }

    /// <summary>Health endpoints, the Prometheus scrape endpoint when enabled, the dashboard when its silo services were added.</summary>
    /// <remarks>Also adds the middleware that enforces <see cref="ApiKeyRequired"/> on whichever endpoints carry it.</remarks>
    public static WebApplication MapTetherOperations(this WebApplication app)
    {
        app.UseMiddleware<ApiKeyMiddleware>();
        app.MapTetherHealth().MapTetherTelemetry().MapTetherDashboard();
        return app;
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tether.Grains;
using Tether.Hooks;

namespace Tether.Hosting;

/// <summary>
/// The application's hooks, for silos (join, publish, rpc, disconnect run in the connection grains) and API nodes
/// (connect, and publish for <c>/api</c> messages). Both read the same <c>Hooks__*</c> settings.
/// </summary>
public static class TetherHooksExtensions
{
    public static IServiceCollection AddTetherHooks(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // The embedded API registers as API and as silo in one container.
        if (services.Any(d => d.ServiceType == typeof(IApplicationHooks))) return services;

        var section = configuration.GetSection(HooksOptions.Section);
        services.AddValidatedOptions<HooksOptions, HooksOptionsValidator>(section)
            .PostConfigure(options =>
            {
                // "Hooks__Rpc__Actions=typing,move" as well as Hooks__Rpc__Actions__0..N.
                var list = section.GetSection("Rpc:Actions").Value;
                if (!string.IsNullOrWhiteSpace(list)) options.Rpc.Actions.AddRange(list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
                options.Rpc.Actions = [.. options.Rpc.Actions.Distinct(StringComparer.Ordinal)];
            });
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider))) services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<HookMetrics>();
        services.AddSingleton<FailureBursts>();
        services.AddSingleton<HookFailureLog>();
        services.AddSingleton<HookClient>();
        services.AddSingleton<DisconnectNotifications>();
        services.AddHostedService(sp => sp.GetRequiredService<DisconnectNotifications>());
        services.AddSingleton<IApplicationHooks, ApplicationHooks>();
        return services;
    }
}

using System.Text.Json.Nodes;
using Tether.Contracts;
using Tether.Hosting;

namespace Tether.Api.Hosting;

/// <summary>
/// The API's two shapes. Embedded (no <c>ConnectionStrings:redis</c>): this process also hosts the one silo, with
/// localhost clustering and in-memory state. Cluster: this process is an Orleans client of the Redis-clustered silos;
/// grains, the dispatcher and every Management API call run in the silos, so API nodes scale on their own and a dying
/// API node loses nothing.
/// </summary>
internal static class OrleansHosting
{
    /// <summary>Configures Orleans for the shape the configuration asks for; returns whether it is the embedded one.</summary>
    public static bool AddTetherOrleans(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var redis = TetherClusterExtensions.RedisConnectionString(configuration);
        if (redis is null)
        {
            builder.UseOrleans(silo =>
            {
                silo.UseLocalhostDevelopmentCluster(configuration, "tether-embedded");
                silo.AddTetherMemoryStorage();
                silo.UseInMemoryReminderService();
                silo.AddTether(configuration, embedded: true);
            });
            builder.Services.AddTetherShutdownTimeout(configuration);
        }
        else
        {
            // Activity propagation carries the API request's trace into the grain calls on the silos.
            builder.UseOrleansClient(client => client.UseTetherRedisCluster(configuration, redis).AddActivityPropagation());
        }

        builder.Services.AddSingleton<DrainState>();
        builder.Services.AddHostedService<DrainOnStop>();
        builder.Services.AddOptions<ShutdownOptions>().Bind(configuration.GetSection(ShutdownOptions.Section))
            .Configure(o => o.DrainDelay ??= redis is null ? TimeSpan.Zero : TimeSpan.FromSeconds(5))
            .Validate(o => o.DrainDelay >= TimeSpan.Zero, "Shutdown:DrainDelay must not be negative.")
            .ValidateOnStart();
        return redis is null;
    }

    /// <summary>
    /// While draining, integration and management calls answer 503 (so API Gateway and load balancers move on);
    /// a cluster that cannot be reached answers 503 too, never 500: the request was fine, the cluster was not.
    /// </summary>
    public static IApplicationBuilder UseTetherClusterGuards(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var drain = context.RequestServices.GetRequiredService<DrainState>();
        if (drain.Draining && !context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
        {
            await Unavailable(context, "draining", "This node is shutting down; retry on another node.");
            return;
        }
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && e is OrleansException or TimeoutException)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Tether.Cluster")
                .LogWarning(e, "The Orleans cluster could not serve {Method} {Path}", context.Request.Method, context.Request.Path);
            await Unavailable(context, "cluster_unavailable", "The cluster could not serve this request right now; retry shortly.");
        }
    });

    private static Task Unavailable(HttpContext context, string code, string message)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "1";
        return context.Response.WriteAsJsonAsync(new JsonObject { ["type"] = "error", ["code"] = code, ["message"] = message });
    }
}

/// <summary>Shutdown behaviour of the API (configuration section <c>Shutdown</c>).</summary>
internal sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    /// <summary>
    /// On SIGTERM, how long the node keeps serving while answering 503 and reporting not ready, so load balancers
    /// stop sending before the listener closes. Default: 5 s in the cluster shape, none embedded.
    /// </summary>
    public TimeSpan? DrainDelay { get; set; }
}

/// <summary>Whether this node is draining: readiness checks report it, and the guards answer 503.</summary>
public sealed class DrainState
{
    private volatile bool _draining;

    public bool Draining => _draining;

    internal void Begin() => _draining = true;
}

/// <summary>Flips <see cref="DrainState"/> before any hosted service (the web server, the silo) starts stopping.</summary>
internal sealed partial class DrainOnStop(DrainState state, Microsoft.Extensions.Options.IOptions<ShutdownOptions> options, ILogger<DrainOnStop> logger)
    : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        state.Begin();
        var delay = options.Value.DrainDelay ?? TimeSpan.Zero;
        LogDraining(delay.TotalSeconds);
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining: new calls answer 503 for {Seconds} s before the listener closes")]
    private partial void LogDraining(double seconds);
}

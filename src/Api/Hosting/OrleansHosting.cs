using Microsoft.Extensions.Options;
using Tether.Api.Integration;
using Tether.Contracts;
using Tether.Hosting;

namespace Tether.Api.Hosting;

/// <summary>
/// The API's two shapes. Embedded (no <c>ConnectionStrings__redis</c>): this process also hosts the one silo, with
/// localhost clustering and in-memory state; outside Development only when chosen (<see cref="SingleNodeOptions"/>). Cluster: this process is an Orleans client of the Redis-clustered silos;
/// grains, the dispatcher and every Management API call run in the silos, so API nodes scale on their own and a dying
/// API node loses nothing.
/// </summary>
internal static partial class OrleansHosting
{
    private const string EmbeddedClusterId = "tether-embedded";

    private const string ClusterLogCategory = "Tether.Cluster";

    /// <summary>Configures Orleans for the shape the configuration asks for; returns whether it is the embedded one.</summary>
    public static bool AddTetherOrleans(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var redis = TetherClusterExtensions.RedisConnectionString(configuration);
        var embedded = redis is null;
        if (redis is null)
        {
            builder.UseOrleans(silo =>
            {
                silo.UseLocalhostDevelopmentCluster(configuration, EmbeddedClusterId);
                silo.AddTetherMemoryStorage();
                silo.UseInMemoryReminderService();
                silo.AddTether(configuration, embedded: true, localDefaults: builder.Environment.IsDevelopment());
            });
            builder.Services.AddTetherShutdownTimeout();
            builder.Services.AddSingleton(CallBudget.Embedded);
            builder.Services.AddValidatedOptions<SingleNodeOptions, SingleNodeOptionsValidator>(configuration.GetSection(SingleNodeOptions.Section));
        }
        else
        {
            // Activity propagation carries the API request's trace into the grain calls on the silos.
            builder.UseOrleansClient(client => client.UseTetherRedisCluster(configuration, redis).AddActivityPropagation());
            builder.Services.AddSingleton(CallBudget.Client);
        }

        builder.Services.AddSingleton<DrainState>();
        builder.Services.AddHostedService<DrainOnStop>();
        builder.Services.AddValidatedOptions<ShutdownOptions, ShutdownOptionsValidator>(configuration.GetSection(ShutdownOptions.Section))
            .PostConfigure(o => o.DrainDelay ??= embedded ? TimeSpan.Zero : ShutdownOptions.ClusterDrainDelay);
        return embedded;
    }

    /// <summary>
    /// While draining, integration and admin calls answer 503 (so API Gateway and load balancers move on); a cluster
    /// that cannot be reached answers 503 too, never 500: the request was fine, the cluster was not. Each surface
    /// answers in its own error format (see <see cref="ClusterFailures"/>).
    /// </summary>
    public static IApplicationBuilder UseTetherClusterGuards(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var drain = context.RequestServices.GetRequiredService<DrainState>();
        if (drain.Draining && !context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
        {
            await UnavailableAsync(context, "draining", "Draining", "This node is shutting down; retry on another node.");
            return;
        }
        try
        {
            await next(context);
        }
        catch (OverloadedException e) when (!context.Response.HasStarted)
        {
            // Admission refused the message before anything was done (docs/decisions/admission-refusal.md).
            await UnavailableAsync(context, OverloadedException.Code, "Overloaded", e.Message);
        }
        catch (Exception e) when (!context.Response.HasStarted && ClusterFailures.IsUnavailable(e))
        {
            LogClusterUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(ClusterLogCategory),
                e, context.Request.Method, context.Request.Path);
            await UnavailableAsync(context, "cluster_unavailable", "Cluster unavailable", "The cluster could not serve this request right now; retry shortly.");
        }
    });

    /// <summary>503 with <c>Retry-After</c>: the integration error shape for API Gateway, ProblemDetails everywhere else.</summary>
    private static Task UnavailableAsync(HttpContext context, string code, string title, string message)
    {
        context.Response.Headers.RetryAfter = "1";
        var result = IntegrationEndpoints.Serves(context)
            ? Replies.Error(StatusCodes.Status503ServiceUnavailable, code, message)
            : Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: title, detail: message,
                extensions: new Dictionary<string, object?> { ["code"] = code });
        return result.ExecuteAsync(context);
    }
}

/// <summary>Shutdown behaviour of the API (configuration section <c>Shutdown</c>).</summary>
internal sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    /// <summary>Long enough for a load balancer's health check to notice; the embedded shape has none in front.</summary>
    public static readonly TimeSpan ClusterDrainDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On SIGTERM, how long the node keeps serving while answering 503 and reporting not ready, so load balancers
    /// stop sending before the listener closes. Default: <see cref="ClusterDrainDelay"/> in the cluster shape, none embedded.
    /// </summary>
    public TimeSpan? DrainDelay { get; set; }
}

internal sealed class ShutdownOptionsValidator : IValidateOptions<ShutdownOptions>
{
    public ValidateOptionsResult Validate(string? name, ShutdownOptions options) =>
        options.DrainDelay < TimeSpan.Zero ? ValidateOptionsResult.Fail("Shutdown__DrainDelay must not be negative.") : ValidateOptionsResult.Success;
}

/// <summary>Whether this node is draining: readiness checks report it, and the guards answer 503.</summary>
public sealed class DrainState
{
    private volatile bool _draining;

    public bool Draining => _draining;

    internal void Begin() => _draining = true;
}

/// <summary>Flips <see cref="DrainState"/> before any hosted service (the web server, the silo) starts stopping.</summary>
internal sealed partial class DrainOnStop(DrainState state, IOptions<ShutdownOptions> options, ILogger<DrainOnStop> logger)
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
}

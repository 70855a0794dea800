using System.Globalization;
using System.Net.Mime;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using Tether.Delivery;

namespace Tether.Hosting;

/// <summary>
/// <c>/health/live</c> (the process answers; no I/O) and <c>/health/ready</c> (this node should get traffic: its silo is
/// an active cluster member, or as a client it reaches one; Redis answers a ping when configured; it is not shutting down;
/// a silo's posts are not being refused by the Management API's circuit breaker).
/// </summary>
public static class TetherHealth
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    public const string ReadyTag = "ready";

    public static IServiceCollection AddTetherHealth(this IServiceCollection services, IConfiguration configuration)
    {
        var checks = services.AddHealthChecks()
            .AddCheck<ShutdownHealthCheck>("shutdown", tags: [ReadyTag])
            .AddCheck<ClusterHealthCheck>("cluster", tags: [ReadyTag])
            .AddCheck<ManagementApiHealthCheck>("managementApi", tags: [ReadyTag]);
        if (TetherClusterExtensions.RedisConnectionString(configuration) is { } redis)
        {
            services.AddSingleton(_ => new RedisHealthCheck(redis));
            checks.AddCheck<RedisHealthCheck>("redis", tags: [ReadyTag], timeout: TimeSpan.FromSeconds(5));
        }
        return services;
    }

    /// <summary>Maps both endpoints; anonymous on purpose (load balancers and orchestrators call them), and they reveal no configuration.</summary>
    public static IEndpointRouteBuilder MapTetherHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .ExcludeFromDescription();
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync })
            .ExcludeFromDescription();
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = MediaTypeNames.Application.Json;
        context.Response.Headers.CacheControl = "no-store";
        var body = new Dictionary<string, object>
        {
            ["status"] = report.Status.ToString(),
            ["checks"] = report.Entries.ToDictionary(e => e.Key, e => new Dictionary<string, string?>
            {
                ["status"] = e.Value.Status.ToString(),
                ["description"] = e.Value.Description,
            }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}

/// <summary>
/// Not ready once the host begins to stop, so a load balancer takes the node out while in-flight work drains.
/// This is the hook for graceful shutdown: anything that delays the host's stop keeps readiness false meanwhile.
/// </summary>
public sealed class ShutdownHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("shutting down")
            : HealthCheckResult.Healthy("running"));
}

/// <summary>
/// A silo is ready when its membership status is Active. A process without a silo (an Orleans client) is ready when
/// the cluster it reaches lists at least one active silo.
/// </summary>
public sealed class ClusterHealthCheck(IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<ISiloStatusOracle>() is { } oracle)
        {
            var status = oracle.CurrentStatus;
            return status == SiloStatus.Active
                ? HealthCheckResult.Healthy("silo active")
                : HealthCheckResult.Unhealthy($"silo {status.ToString().ToLowerInvariant()}");
        }
        if (services.GetService<IClusterClient>() is { } client)
        {
            try
            {
                var query = client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, cancellationToken);
                var hosts = await query.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                return hosts.Count > 0
                    ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)")
                    : HealthCheckResult.Unhealthy("no active silo");
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy("cluster unreachable: " + e.GetType().Name);
            }
        }
        return HealthCheckResult.Unhealthy("no Orleans silo or client in this process");
    }
}

/// <summary>
/// Unhealthy while this process's dispatcher finds the Management API failing: its circuit breaker refuses posts and
/// they wait (<c>Delivery__MaxOutageDelay</c>). A process without a silo posts nothing and is not judged on it.
/// </summary>
public sealed class ManagementApiHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<DeliveryDispatcher>() is not { } dispatcher)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no dispatcher in this process"));
        }
        return Task.FromResult(dispatcher.ManagementApiFailingSince is { } since
            ? HealthCheckResult.Unhealthy(string.Create(CultureInfo.InvariantCulture,
                $"Management API failing since {since:O}: its circuit breaker refuses posts; {dispatcher.WaitingForManagementApi + dispatcher.Queued} posts waiting"))
            : HealthCheckResult.Healthy("posts reach the Management API"));
    }
}

/// <summary>Pings the configured Redis. One lazily opened connection is kept for the checks; it reconnects by itself.</summary>
public sealed class RedisHealthCheck(string connectionString) : IHealthCheck, IAsyncDisposable
{
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private ConnectionMultiplexer? _connection;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var connection = await ConnectAsync(cancellationToken);
            var latency = await connection.GetDatabase().PingAsync().WaitAsync(cancellationToken);
            return HealthCheckResult.Healthy($"ping {latency.TotalMilliseconds:0.#} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
        {
            // The message never contains the connection string (it may hold a password).
            return HealthCheckResult.Unhealthy("redis unreachable: " + e.GetType().Name);
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing) return existing;
        await _connecting.WaitAsync(cancellationToken);
        try
        {
            if (_connection is null)
            {
                var options = ConfigurationOptions.Parse(connectionString);
                options.AbortOnConnectFail = false;
                options.ConnectTimeout = Math.Min(options.ConnectTimeout, 5000);
                options.SyncTimeout = Math.Min(options.SyncTimeout, 5000);
                options.AsyncTimeout = Math.Min(options.AsyncTimeout, 5000);
                _connection = await ConnectionMultiplexer.ConnectAsync(options);
            }
            return _connection;
        }
        finally
        {
            _connecting.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
        _connecting.Dispose();
    }
}

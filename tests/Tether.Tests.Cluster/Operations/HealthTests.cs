using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Tether.Hosting;
using Tether.Tests.Api;
using Tether.Tests.Support;

namespace Tether.Tests.Operations;

[Collection(ApiTests.Name)]
public sealed class ApiHealthTests(ApiFixture fixture)
{
    [Fact]
    public async Task The_api_answers_live_and_ready_with_its_embedded_silo_active()
    {
        using var http = fixture.Factory.CreateClient();
        using var live = await http.GetAsync("/health/live");
        using var ready = await http.GetAsync("/health/ready");
        var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("no-store", ready.Headers.CacheControl?.ToString());
        Assert.Equal("silo active", checks.GetProperty("cluster").GetProperty("description").GetString());
        Assert.Equal("Healthy", checks.GetProperty("shutdown").GetProperty("status").GetString());
        Assert.False(checks.TryGetProperty("redis", out _), "no Redis is configured, so none is checked");
    }
}

public sealed class HealthCheckTests
{
    private static HealthCheckContext Context(IHealthCheck check) =>
        new() { Registration = new HealthCheckRegistration("test", check, HealthStatus.Unhealthy, null) };

    [Fact]
    public async Task Readiness_turns_unhealthy_as_soon_as_the_host_begins_to_stop()
    {
        var lifetime = new FakeLifetime();
        var check = new ShutdownHealthCheck(lifetime);

        var before = await check.CheckHealthAsync(Context(check));
        await lifetime.Stopping.CancelAsync();
        var after = await check.CheckHealthAsync(Context(check));

        Assert.Equal(HealthStatus.Healthy, before.Status);
        Assert.Equal(HealthStatus.Unhealthy, after.Status);
    }

    [Fact]
    public async Task Redis_check_is_unhealthy_when_nothing_listens_and_says_so_without_the_connection_string()
    {
        var port = FreePort.Next();
        await using var check = new RedisHealthCheck($"127.0.0.1:{port},password=do-not-log-me,connectTimeout=1000");

        var result = await check.CheckHealthAsync(Context(check));

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.DoesNotContain("do-not-log-me", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redis_check_is_healthy_when_redis_answers_a_ping()
    {
        var port = FreePort.Next();
        using var redis = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            // Wait for redis-server to say it listens, then ask once.
            var ready = Task.Run(async () =>
            {
                while (await redis.StandardOutput.ReadLineAsync() is { } line)
                {
                    if (line.Contains("Ready to accept connections", StringComparison.Ordinal)) return;
                }
            });
            await ready.WaitAsync(TimeSpan.FromSeconds(30));
            await using var check = new RedisHealthCheck($"127.0.0.1:{port}");
            var result = await check.CheckHealthAsync(Context(check));

            Assert.Equal(HealthStatus.Healthy, result.Status);
            Assert.StartsWith("ping ", result.Description, StringComparison.Ordinal);
        }
        finally
        {
            redis.Kill();
            await redis.WaitForExitAsync();
        }
    }

    private sealed class FakeLifetime : IHostApplicationLifetime
    {
        public CancellationTokenSource Stopping { get; } = new();
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => Stopping.Token;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() => Stopping.Cancel();
    }
}

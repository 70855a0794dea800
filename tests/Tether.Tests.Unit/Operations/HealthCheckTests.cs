using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Tether.Hosting;

namespace Tether.Tests.Operations;

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

    private sealed class FakeLifetime : IHostApplicationLifetime
    {
        public CancellationTokenSource Stopping { get; } = new();
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => Stopping.Token;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() => Stopping.Cancel();
    }
}

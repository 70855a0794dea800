using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tether.Hosting;
using Tether.Tests.Api;
using Xunit.Abstractions;

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
        // The embedded silo's dispatcher is found, and it reaches the Management API.
        Assert.Equal("posts reach the Management API", checks.GetProperty("managementApi").GetProperty("description").GetString());
    }
}

/// <summary>The Redis check against a live server (redis-server, or Garnet where there is none).</summary>
[Trait("Category", "Redis")]
public sealed class RedisHealthCheckTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Redis_check_is_healthy_when_redis_answers_a_ping()
    {
        await using var redis = await RedisServer.StartAsync(reportAs: nameof(Redis_check_is_healthy_when_redis_answers_a_ping));
        output.WriteLine(redis.Description);
        await using var check = new RedisHealthCheck(redis.ConnectionString);
        var result = await check.CheckHealthAsync(new HealthCheckContext
        {
            Registration = new HealthCheckRegistration("test", check, HealthStatus.Unhealthy, null),
        });

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.StartsWith("ping ", result.Description, StringComparison.Ordinal);
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tether.Hosting;
using Tether.Tests.Grains;

namespace Tether.Tests.Operations;

[Collection(ClusterTests.Name)]
public sealed class ClusterHealthTests(ClusterFixture fixture)
{
    private static HealthCheckContext Context(IHealthCheck check) =>
        new() { Registration = new HealthCheckRegistration("cluster", check, HealthStatus.Unhealthy, null) };

    [Fact]
    public async Task An_orleans_client_is_ready_when_the_cluster_lists_its_active_silos()
    {
        var check = new ClusterHealthCheck(fixture.Cluster.Client.ServiceProvider);

        var result = await check.CheckHealthAsync(Context(check));

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal("2 active silo(s)", result.Description);
    }

    [Fact]
    public async Task A_silo_is_ready_when_its_membership_status_is_active()
    {
        var check = new ClusterHealthCheck(fixture.Cluster.Silos[0].ServiceProvider);

        var result = await check.CheckHealthAsync(Context(check));

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal("silo active", result.Description);
    }

    [Fact]
    public async Task A_process_without_orleans_is_not_ready()
    {
        var check = new ClusterHealthCheck(new ServiceCollection().BuildServiceProvider());

        var result = await check.CheckHealthAsync(Context(check));

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tether.Hosting;

namespace Tether.Testing;

/// <summary>The tests' own Orleans client of a cluster of real processes, built the way an API node builds its own.</summary>
public static class ClusterClients
{
    /// <summary>A client of the cluster <paramref name="clusterId"/> on <paramref name="redis"/>; not started yet.</summary>
    public static IHost Build(string clusterId, string redis)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orleans:ClusterId"] = clusterId,
            ["Orleans:ServiceId"] = clusterId,
        }).Build();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client.UseTetherRedisCluster(configuration, redis));
        return builder.Build();
    }
}

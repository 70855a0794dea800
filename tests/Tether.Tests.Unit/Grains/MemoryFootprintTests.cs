using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tether.Hosting;

namespace Tether.Tests.Grains;

/// <summary>The grain-directory cache: off on a single silo unless configured, Orleans' default on silos of a cluster.</summary>
public sealed class MemoryFootprintTests
{
    private static GrainDirectoryOptions DirectoryOptions(bool singleSilo, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.UseOrleans(silo => silo.AddTetherDirectoryCache(builder.Configuration, singleSilo));
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value;
    }

    [Fact]
    public void A_single_silo_keeps_no_directory_cache()
    {
        Assert.Equal(GrainDirectoryOptions.CachingStrategyType.None, DirectoryOptions(singleSilo: true, []).CachingStrategy);
    }

    [Fact]
    public void Silos_of_a_cluster_keep_orleans_default_cache()
    {
        var options = DirectoryOptions(singleSilo: false, []);
        Assert.Equal(GrainDirectoryOptions.DEFAULT_CACHING_STRATEGY, options.CachingStrategy);
        Assert.Equal(GrainDirectoryOptions.DEFAULT_CACHE_SIZE, options.CacheSize);
    }

    [Fact]
    public void An_operator_setting_wins_over_our_default()
    {
        var options = DirectoryOptions(singleSilo: true, new()
        {
            ["Orleans:DirectoryCache:CachingStrategy"] = "LRU",
            ["Orleans:DirectoryCache:CacheSize"] = "5000",
        });
        Assert.Equal(GrainDirectoryOptions.CachingStrategyType.LRU, options.CachingStrategy);
        Assert.Equal(5000, options.CacheSize);
    }
}

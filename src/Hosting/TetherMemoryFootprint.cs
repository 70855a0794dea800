using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using Tether.Contracts;

namespace Tether.Hosting;

/// <summary>
/// What a silo keeps per connection besides our own state: Orleans' grain-directory cache and, without Redis, the
/// in-memory storage's copies. See docs/performance.md, "What limits memory per connection".
/// </summary>
public static class TetherMemoryFootprint
{
    /// <summary>
    /// In-memory grain storage (<see cref="TetherStorage.Name"/>) for the shapes without Redis. It keeps a serialized
    /// copy of every stored state; Orleans' default storage serializer is Newtonsoft JSON, whose copy of a connection
    /// (dates, ids, type names as text) is several times the size of Orleans' binary form. Nothing outlives the process
    /// here, so the compact, faster binary form costs no compatibility.
    /// </summary>
    public static ISiloBuilder AddTetherMemoryStorage(this ISiloBuilder silo) =>
        silo.AddMemoryGrainStorage(TetherStorage.Name, options => options.Configure<Serializer>(
            (o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));

    /// <summary>
    /// The grain directory's cache (<c>Orleans__DirectoryCache__*</c>, Orleans' <c>GrainDirectoryOptions</c>; not
    /// <c>Orleans__GrainDirectory</c>, where Orleans looks for directory providers). It keeps an entry for every grain
    /// ever called, even after collection; a single silo (<paramref name="singleSilo"/>: the embedded shape) owns the
    /// whole directory, so there the cache only costs memory and is off unless configured.
    /// </summary>
    internal static void AddTetherDirectoryCache(this ISiloBuilder silo, IConfiguration configuration, bool singleSilo)
    {
        if (singleSilo)
        {
            silo.Services.Configure<GrainDirectoryOptions>(o => o.CachingStrategy = GrainDirectoryOptions.CachingStrategyType.None);
        }
        // After our default, so an operator's setting wins.
        silo.Services.Configure<GrainDirectoryOptions>(configuration.GetSection($"{OrleansHostOptions.Section}:DirectoryCache"));
    }
}

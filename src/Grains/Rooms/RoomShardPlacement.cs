using Orleans.Placement;

namespace Tether.Grains;

/// <summary>
/// Places the shards of one room on consecutive silos (see <see cref="RoomShardPlacementDirector"/>). Orleans records
/// this type's name in the grain type's properties: renaming it breaks a running cluster.
/// </summary>
[GenerateSerializer, Immutable, Alias("Tether.RoomShardPlacement")]
public sealed class RoomShardPlacement : PlacementStrategy
{
    internal static RoomShardPlacement Instance { get; } = new();
}

/// <summary>Marks a grain keyed by <see cref="RoomShards.Key"/> as placed by <see cref="RoomShardPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class RoomShardPlacementAttribute : PlacementAttribute
{
    public RoomShardPlacementAttribute() : base(RoomShardPlacement.Instance)
    {
    }
}

using Orleans.Runtime.Placement;

using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Puts shard <c>i</c> of room <c>r</c> on silo <c>(Hash(r) + i) mod n</c> of the compatible silos sorted by address,
/// so each room's shards are spread evenly and every silo computes the same answer (see
/// <c>docs/decisions/room-shard-placement.md</c>).
/// </summary>
public sealed class RoomShardPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var silos = context.GetCompatibleSilos(target).ToArray();
        Array.Sort(silos);
        return Task.FromResult(silos[SiloIndex(target.GrainIdentity.Key.ToString(), silos.Length)]);
    }

    /// <summary>The position, among <paramref name="siloCount"/> sorted silos, of the shard with this grain key.</summary>
    public static int SiloIndex(string shardKey, int siloCount)
    {
        ArgumentNullException.ThrowIfNull(shardKey);
        ArgumentOutOfRangeException.ThrowIfLessThan(siloCount, 1);
        // Only our own keys reach here; a key of another shape is still placed deterministically, as shard 0 of itself.
        var (index, room) = RoomShards.TryParseKey(shardKey, out var parsed) ? parsed : (0, shardKey);
        return (int)((RoomShards.Hash(room) + (ulong)index) % (ulong)siloCount);
    }
}

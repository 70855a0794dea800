using Orleans.Runtime.Placement;

using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Puts shard <c>i</c> of room <c>r</c> on silo <c>(Hash(r) + i) mod n</c> of the compatible silos sorted by address.
/// <para>
/// Orleans' hash-based placement hashes each shard's id on its own, so one room's shards landed on silos at random:
/// with 8 shards on 3 silos one silo often got 6 and about one room in eight left a silo with none. Consecutive
/// silos give every silo <c>floor(S/n)</c> or <c>ceil(S/n)</c> of a room's <c>S</c> shards, and when shards are at
/// least as many as silos every silo gets one. A split's new half (index <c>i + 2^d</c>) goes to another silo than
/// the half it came from unless <c>2^d</c> is a multiple of <c>n</c>; then both halves share the silo, but so does
/// every shard whose hash has the same low bits, and the silos' shares stay exactly equal.
/// The room's hash turns the start, so that many rooms with fewer shards than silos do not all crowd the first.
/// </para>
/// <para>
/// Every silo computes the same answer: the hash is stable across processes and the order is the silos' own
/// (<see cref="SiloAddress"/> is comparable). Orleans places at activation, so a shard stays where it is while it
/// lives; a shard whose silo died is placed again by the same rule over the silos alive then.
/// </para>
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

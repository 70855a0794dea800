using System.Net;
using Orleans.Runtime.Placement;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Tests.Grains;

/// <summary>The director's choice, without a cluster: which silo each shard of a room gets.</summary>
public sealed class RoomShardPlacementTests
{
    private static readonly string[] Rooms = [.. Enumerable.Range(0, 500).Select(i => "room-" + i)];

    private static SiloAddress Silo(int port) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), 1);

    private static int[] ShardsPerSilo(string room, int shards, int silos)
    {
        var counts = new int[silos];
        for (var i = 0; i < shards; i++) counts[RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, i), silos)]++;
        return counts;
    }

    /// <summary>
    /// With the default shard counts, each silo's share of a big room's members (so of its fan-out) is within 10 % of
    /// even, for a room just past the threshold, one of 10,000 and one of 100,000 that has split on the way.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_big_rooms_members_spread_within_ten_percent_of_even(int silos)
    {
        var options = new RoomOptions();
        foreach (var size in new[] { options.ShardThreshold + 1, 10_000, 100_000 })
        {
            foreach (var room in Rooms.Take(5))
            {
                var shares = MembersPerSilo(room, size, silos, options);
                var even = size / (double)silos;
                Assert.True(shares.All(s => Math.Abs(s - even) <= 0.10 * even),
                    $"{room} of {size} members over {silos} silos: {string.Join(" / ", shares)} (even {even:F0})");
            }
        }
    }

    /// <summary>Fills a room as the grains do (initial shards, then a shard past capacity splits) and counts members per silo.</summary>
    private static int[] MembersPerSilo(string room, int size, int silos, RoomOptions options)
    {
        var depth0 = int.Log2(options.InitialShards);
        var shards = Enumerable.Range(0, options.InitialShards).ToDictionary(i => i, _ => (Depth: depth0, Members: new List<uint>()));
        for (var m = 0; m < size; m++)
        {
            var hash = RoomShards.Hash($"{room}-member-{m:D6}Ab=");
            var index = Enumerable.Range(0, RoomShards.MaxDepth + 1).Reverse().Select(d => RoomShards.IndexAt(hash, d))
                .First(i => shards.TryGetValue(i, out var s) && RoomShards.Owns(hash, i, s.Depth));
            var shard = shards[index];
            shard.Members.Add(hash);
            if (shard.Members.Count <= options.ShardCapacity) continue;
            var depth = shard.Depth + 1;
            var sibling = index + (1 << (depth - 1));
            shards[sibling] = (depth, [.. shard.Members.Where(h => RoomShards.Owns(h, sibling, depth))]);
            shards[index] = (depth, [.. shard.Members.Where(h => RoomShards.Owns(h, index, depth))]);
        }
        var counts = new int[silos];
        foreach (var (index, shard) in shards) counts[RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, index), silos)] += shard.Members.Count;
        return counts;
    }

    [Fact]
    public void Eight_shards_over_three_silos_go_three_three_two_for_every_room()
    {
        foreach (var room in Rooms)
        {
            Assert.Equal([2, 3, 3], ShardsPerSilo(room, 8, 3).Order());
        }
    }

    [Fact]
    public void Every_silo_gets_a_shard_once_a_room_has_as_many_shards_as_there_are_silos_and_none_gets_two_more_than_another()
    {
        foreach (var room in Rooms.Take(100))
        {
            for (var silos = 1; silos <= 9; silos++)
            {
                foreach (var shards in new[] { silos, silos + 1, 2 * silos - 1, 8, 16, 64 }.Where(s => s >= silos))
                {
                    var counts = ShardsPerSilo(room, shards, silos);
                    Assert.True(counts.Min() >= 1, $"{room}: {shards} shards over {silos} silos left one with none");
                    Assert.True(counts.Max() - counts.Min() <= 1, $"{room}: {shards} shards over {silos} silos: {string.Join('/', counts)}");
                }
            }
        }
    }

    [Fact]
    public void A_splits_new_half_goes_to_another_silo_unless_the_silo_count_divides_the_split_width()
    {
        foreach (var room in Rooms.Take(50))
        {
            for (var depth = 0; depth < 10; depth++)
            {
                for (var index = 0; index < 1 << depth; index++)
                {
                    var sibling = index + (1 << depth);
                    Assert.NotEqual(RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, index), 3),
                        RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, sibling), 3));
                }
            }
        }
    }

    [Fact]
    public void Rooms_start_on_different_silos_so_small_shard_counts_do_not_crowd_the_first_silo()
    {
        var firstShardSilos = Rooms.Select(r => RoomShardPlacementDirector.SiloIndex(RoomShards.Key(r, 0), 3)).ToList();
        for (var silo = 0; silo < 3; silo++)
        {
            Assert.InRange(firstShardSilos.Count(s => s == silo), 100, 233);
        }
    }

    [Fact]
    public void The_choice_depends_on_the_room_name_and_index_only_and_is_stable_across_processes()
    {
        // Pinned values: a silo computing another answer (another hash, another order) would split one room's
        // placement between two rules in a mixed-version cluster.
        Assert.Equal(4029085215u, RoomShards.Hash("lobby"));
        Assert.Equal([0, 1, 2, 0], Enumerable.Range(0, 4).Select(i => RoomShardPlacementDirector.SiloIndex(RoomShards.Key("lobby", i), 3)));
        Assert.Equal(RoomShardPlacementDirector.SiloIndex("3/a/b", 5), RoomShardPlacementDirector.SiloIndex(RoomShards.Key("a/b", 3), 5));
    }

    [Fact]
    public void A_key_of_another_shape_is_still_placed_deterministically()
    {
        Assert.Equal(RoomShardPlacementDirector.SiloIndex("no-slash", 4), RoomShardPlacementDirector.SiloIndex("no-slash", 4));
        Assert.InRange(RoomShardPlacementDirector.SiloIndex("-1/room", 4), 0, 3);
        Assert.InRange(RoomShardPlacementDirector.SiloIndex("/room", 4), 0, 3);
    }

    [Fact]
    public async Task The_director_sorts_the_silos_it_is_offered_so_every_silo_chooses_alike()
    {
        SiloAddress[] sorted = [Silo(11111), Silo(11112), Silo(11113)];
        SiloAddress[] shuffled = [sorted[2], sorted[0], sorted[1]];
        var director = new RoomShardPlacementDirector();

        foreach (var room in Rooms.Take(20))
        {
            for (var i = 0; i < 8; i++)
            {
                var key = RoomShards.Key(room, i);
                var target = new PlacementTarget(GrainId.Create(TetherGrainTypes.RoomShard, key), [], default, 0);
                var chosen = await director.OnAddActivation(RoomShardPlacement.Instance, target, new Context(shuffled));
                Assert.Equal(sorted[RoomShardPlacementDirector.SiloIndex(key, 3)], chosen);
            }
        }
    }

    [Fact]
    public async Task When_a_silo_is_gone_the_rule_applies_over_the_silos_left()
    {
        SiloAddress[] silos = [Silo(11111), Silo(11112), Silo(11113)];
        SiloAddress[] left = [silos[0], silos[2]];
        var director = new RoomShardPlacementDirector();
        var counts = new Dictionary<SiloAddress, int>();

        for (var i = 0; i < 8; i++)
        {
            var target = new PlacementTarget(GrainId.Create(TetherGrainTypes.RoomShard, RoomShards.Key("big", i)), [], default, 0);
            var chosen = await director.OnAddActivation(RoomShardPlacement.Instance, target, new Context(left));
            counts[chosen] = counts.GetValueOrDefault(chosen) + 1;
        }

        Assert.Equal(4, counts[silos[0]]);
        Assert.Equal(4, counts[silos[2]]);
    }

    private sealed class Context(SiloAddress[] silos) : IPlacementContext
    {
        public SiloAddress LocalSilo => silos[0];

        public SiloStatus LocalSiloStatus => SiloStatus.Active;

        public SiloAddress[] GetCompatibleSilos(PlacementTarget target) => silos;

        public IReadOnlyDictionary<ushort, SiloAddress[]> GetCompatibleSilosWithVersions(PlacementTarget target) =>
            throw new NotSupportedException("The director does not look at interface versions.");
    }
}

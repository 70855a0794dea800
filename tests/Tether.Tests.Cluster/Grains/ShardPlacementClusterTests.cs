using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Tests.Grains;

/// <summary>Real shard grains on a three-silo test cluster: where Orleans activates them.</summary>
[Collection(ThreeSiloClusterTests.Name)]
public sealed class ShardPlacementClusterTests(ThreeSiloClusterFixture fixture)
{
    private IManagementGrain Management => fixture.Grains.GetGrain<IManagementGrain>(0);

    private async Task<string> ShardedRoomAsync()
    {
        var room = "placed-" + Guid.NewGuid().ToString("N")[..8];
        var grain = fixture.Grains.GetGrain<IRoomGrain>(room);
        // The fixture shards a room past 8 members into 8 shards at once.
        for (var i = 0; i < 9; i++) await grain.Join("c" + i + "-" + room, null);
        return room;
    }

    private async Task<SiloAddress[]> ActiveSilosAsync() => [.. (await Management.GetHosts(onlyActive: true)).Keys.Order()];

    /// <summary>Calls the shard (activating it if it is not) and asks the directory where it lives.</summary>
    private async Task<SiloAddress> SiloOfAsync(string room, int index)
    {
        var shard = fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, index));
        await shard.IsMember("nobody");
        var silo = await Management.GetActivationAddress(shard);
        Assert.NotNull(silo);
        return silo;
    }

    [Fact]
    public async Task A_rooms_shards_are_activated_on_the_silos_the_rule_names_and_spread_evenly()
    {
        var silos = await ActiveSilosAsync();
        Assert.True(silos.Length >= 2, "the fixture keeps at least two silos");

        for (var r = 0; r < 3; r++)
        {
            var room = await ShardedRoomAsync();
            var counts = silos.ToDictionary(s => s, _ => 0);
            for (var i = 0; i < 8; i++)
            {
                var silo = await SiloOfAsync(room, i);
                Assert.Equal(silos[RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, i), silos.Length)], silo);
                counts[silo]++;
            }
            // 8 shards over 3 silos: 3/3/2, whichever silo the room starts on.
            Assert.All(counts.Values, c => Assert.InRange(c, 8 / silos.Length, (8 + silos.Length - 1) / silos.Length));
        }
    }

    [Fact]
    public async Task The_shards_of_a_silo_that_left_are_placed_again_by_the_rule_over_the_silos_that_remain()
    {
        var room = await ShardedRoomAsync();
        var before = new SiloAddress[8];
        for (var i = 0; i < 8; i++) before[i] = await SiloOfAsync(room, i);

        // The primary silo hosts the test cluster's membership table: stop another one.
        var leaving = fixture.Cluster.Silos.Skip(1).First(s => before.Contains(s.SiloAddress));
        await fixture.Cluster.StopSiloAsync(leaving);
        await WhenEverySiloSeesDeadAsync(leaving.SiloAddress);

        var survivors = await ActiveSilosAsync();
        Assert.DoesNotContain(leaving.SiloAddress, survivors);
        for (var i = 0; i < 8; i++)
        {
            var after = await RetryAsync(() => SiloOfAsync(room, i));
            var expected = before[i] == leaving.SiloAddress
                ? survivors[RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, i), survivors.Length)]
                : before[i];
            Assert.Equal(expected, after);
        }
    }

    /// <summary>Placement reads each silo's own view of the membership: wait until none still counts the silo in.</summary>
    private async Task WhenEverySiloSeesDeadAsync(SiloAddress gone)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var silo in fixture.Cluster.Silos.Where(s => s.SiloAddress != gone))
        {
            var membership = silo.ServiceProvider.GetRequiredService<IClusterMembershipService>();
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(timeout.Token))
            {
                if (snapshot.GetSiloStatus(gone) == SiloStatus.Dead) break;
            }
        }
    }

    /// <summary>The client may still route a first call to the stopped silo's gateway; such a call fails fast and is retried.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (SiloUnavailableException) when (attempt < 5)
            {
            }
            catch (OrleansMessageRejectionException) when (attempt < 5)
            {
            }
        }
    }
}

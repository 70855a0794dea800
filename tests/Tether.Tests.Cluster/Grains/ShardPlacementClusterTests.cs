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
        // Known to the emulated Management API: presence notices to unknown ids would meet 410 and remove them.
        for (var i = 0; i < 9; i++)
        {
            fixture.Connections.Add("c" + i + "-" + room);
            await grain.Join("c" + i + "-" + room, null);
        }
        return room;
    }

    private async Task<SiloAddress[]> ActiveSilosAsync() => [.. (await Management.GetHosts(onlyActive: true)).Keys.Order()];

    /// <summary>
    /// Calls the shard (activating it if it is not) and finds the silo whose catalog holds it: the directory cache that
    /// <see cref="IManagementGrain.GetActivationAddress"/> reads may still name a silo the shard moved away from.
    /// </summary>
    private async Task<SiloAddress> SiloOfAsync(string room, int index)
    {
        var shard = fixture.Grains.GetGrain<IRoomShardGrain>(RoomShards.Key(room, index));
        await shard.IsMember("nobody");
        Assert.True(fixture.Cluster.TryGetGrainContext(shard.GetGrainId(), out var context), "the shard is active on no silo");
        return context!.Address.SiloAddress!;
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
    public async Task The_shards_of_a_silo_that_left_and_those_the_rule_now_names_elsewhere_move_to_the_silos_that_remain()
    {
        var room = await ShardedRoomAsync();
        var before = new SiloAddress[8];
        for (var i = 0; i < 8; i++) before[i] = await SiloOfAsync(room, i);

        // The primary silo hosts the test cluster's membership table: stop another one.
        var leaving = fixture.Cluster.Silos.Skip(1).First(s => before.Contains(s.SiloAddress));
        await fixture.Cluster.StopSiloAsync(leaving);
        await WhenEverySiloSeesAsync(leaving.SiloAddress, SiloStatus.Dead);

        var survivors = await ActiveSilosAsync();
        Assert.DoesNotContain(leaving.SiloAddress, survivors);
        // The left silo's shards are placed again when next called; the survivors' rebalancers move their own.
        await ShardsFollowTheRuleAsync(room, survivors);
    }

    [Fact]
    public async Task When_a_silo_joins_existing_shards_move_to_the_silos_the_rule_names_over_the_new_count_and_keep_their_members()
    {
        var room = await ShardedRoomAsync();
        for (var i = 0; i < 8; i++) await SiloOfAsync(room, i);
        Assert.Equal(9, (await fixture.Grains.GetGrain<IRoomGrain>(room).GetMembers(null, 100)).Members.Count);

        var joined = await fixture.Cluster.StartAdditionalSiloAsync();
        try
        {
            await WhenEverySiloSeesAsync(joined.SiloAddress, SiloStatus.Active);
            var silos = await ActiveSilosAsync();
            Assert.Contains(joined.SiloAddress, silos);
            await ShardsFollowTheRuleAsync(room, silos);
            Assert.Equal(9, (await fixture.Grains.GetGrain<IRoomGrain>(room).GetMembers(null, 100)).Members.Count);
        }
        finally
        {
            await fixture.Cluster.StopSiloAsync(joined);
        }
    }

    [Fact]
    public async Task A_shard_stays_while_a_tracked_message_it_posted_can_still_be_awaited_so_the_wait_counts_every_recipient()
    {
        var room = await ShardedRoomAsync();
        for (var i = 0; i < 8; i++) await SiloOfAsync(room, i);
        var grain = fixture.Grains.GetGrain<IRoomGrain>(room);
        var message = Envelopes.Message(Envelopes.NewMessageId(), room, null, null, "\"tracked\"", DateTimeOffset.UtcNow);
        Assert.Equal(9, (await grain.Publish(message, null, trackDelivery: true)).Recipients);
        // A room without tracked messages: its shards moving shows that the rebalancers ran.
        var control = await ShardedRoomAsync();
        for (var i = 0; i < 8; i++) await SiloOfAsync(control, i);

        var joined = await fixture.Cluster.StartAdditionalSiloAsync();
        try
        {
            await WhenEverySiloSeesAsync(joined.SiloAddress, SiloStatus.Active);
            var silos = await ActiveSilosAsync();
            await ShardsFollowTheRuleAsync(control, silos);
            // Without the rule, a shard that moved meanwhile answers "not tracked" and the sum leaves its members out.
            var summary = await grain.AwaitDelivery(message.Id, TimeSpan.FromSeconds(30));
            Assert.Equal((9, 9, true), (summary.Recipients, summary.Delivered, summary.Complete));
            // Read, the summaries no longer keep the shards: they follow the rule too.
            await ShardsFollowTheRuleAsync(room, silos);
        }
        finally
        {
            await fixture.Cluster.StopSiloAsync(joined);
        }
    }

    /// <summary>Moves run in the background, paced, after the silos' views settle: ask until every shard is where the rule says.</summary>
    private Task ShardsFollowTheRuleAsync(string room, SiloAddress[] silos) =>
        Eventually.HoldsAsync(async () =>
        {
            for (var i = 0; i < 8; i++)
            {
                Assert.Equal(silos[RoomShardPlacementDirector.SiloIndex(RoomShards.Key(room, i), silos.Length)], await RetryAsync(() => SiloOfAsync(room, i)));
            }
        }, TimeSpan.FromSeconds(60), "every shard of " + room + " on the silo the rule names over " + silos.Length + " silos");

    /// <summary>Placement reads each silo's own view of the membership: wait until every other silo sees the status.</summary>
    private async Task WhenEverySiloSeesAsync(SiloAddress changed, SiloStatus status)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var silo in fixture.Cluster.Silos.Where(s => s.SiloAddress != changed))
        {
            var membership = silo.ServiceProvider.GetRequiredService<IClusterMembershipService>();
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(timeout.Token))
            {
                if (snapshot.GetSiloStatus(changed) == status) break;
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

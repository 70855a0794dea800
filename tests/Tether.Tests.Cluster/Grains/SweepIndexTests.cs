using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;

namespace Tether.Tests.Grains;

internal static class SweepIndex
{
    public static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    /// <summary>Fresh ids that all fall in the same bucket for <paramref name="connectedAt"/>.</summary>
    public static List<string> IdsInOneBucket(int count, DateTimeOffset connectedAt)
    {
        var first = NewId();
        var key = SweepBuckets.Key(first, connectedAt);
        var ids = new List<string> { first };
        while (ids.Count < count)
        {
            var id = NewId();
            if (SweepBuckets.Key(id, connectedAt) == key) ids.Add(id);
        }
        return ids;
    }

    /// <summary>
    /// A connect minute no other test of a shared cluster uses (ahead of now, so the bucket never expires), so counting
    /// a bucket's ids counts only this test's.
    /// </summary>
    public static DateTimeOffset UnusedMinute() => DateTimeOffset.UtcNow.AddMinutes(Random.Shared.Next(10, 500_000));

    public static ISweepBucketGrain Bucket(IGrainFactory grains, string id, DateTimeOffset connectedAt) =>
        grains.GetGrain<ISweepBucketGrain>(SweepBuckets.Key(id, connectedAt));

    public static async Task<int> RemindersOf(ClusterFixture fixture, IAddressable grain)
    {
        var table = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        return (await table.ReadRows(grain.GetGrainId())).Reminders.Count;
    }

    /// <summary>Polls a grain-side condition: reminders and collection run on their own schedule, there is no event to await.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "timed out waiting until " + what);
            await Task.Delay(200);
        }
    }
}

public sealed class SweepBucketKeyTests
{
    [Fact]
    public void A_key_names_the_UTC_minute_of_connectedAt_and_a_shard_of_the_id()
    {
        var at = new DateTimeOffset(2026, 11, 25, 15, 42, 59, TimeSpan.FromHours(2));
        var key = SweepBuckets.Key("R0oXAdfD0kwCH6w=", at);

        Assert.StartsWith("202611251342/", key, StringComparison.Ordinal);
        Assert.InRange(int.Parse(key[13..], System.Globalization.CultureInfo.InvariantCulture), 0, SweepBuckets.ShardsPerMinute - 1);
        Assert.Equal(key, SweepBuckets.Key("R0oXAdfD0kwCH6w=", at.AddSeconds(-59)));
        Assert.NotEqual(key, SweepBuckets.Key("R0oXAdfD0kwCH6w=", at.AddSeconds(1)));
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 13, 43, 0, TimeSpan.Zero), SweepBuckets.End(key));
    }

    [Fact]
    public void Ids_spread_over_the_shards_of_a_minute()
    {
        var at = DateTimeOffset.UtcNow;
        var keys = Enumerable.Range(0, 5000).Select(_ => SweepBuckets.Key(SweepIndex.NewId(), at)).ToHashSet();
        Assert.Equal(SweepBuckets.ShardsPerMinute, keys.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lobby")]
    [InlineData("2026112513/001")]
    public void Anything_else_is_not_a_bucket_key(string key) => Assert.Throws<ArgumentException>(() => SweepBuckets.End(key));
}

/// <summary>Connections enter their sweep bucket on <c>$connect</c> and leave it on every removal; one reminder per bucket.</summary>
[Collection(ClusterTests.Name)]
public sealed class SweepIndexTests(ClusterFixture fixture)
{
    private async Task ConnectAsync(string id, string room, DateTimeOffset connectedAt)
    {
        fixture.Connections.Add(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], connectedAt, null, null, null));
    }

    [Fact]
    public async Task Connections_of_one_bucket_share_its_one_reminder_and_leave_it_on_disconnect_gone_and_close()
    {
        var at = SweepIndex.UnusedMinute();
        var room = "index-" + Guid.NewGuid().ToString("N")[..8];
        var ids = SweepIndex.IdsInOneBucket(4, at);
        foreach (var id in ids) await ConnectAsync(id, room, at);
        var bucket = SweepIndex.Bucket(fixture.Grains, ids[0], at);

        Assert.Equal(4, await bucket.Count());
        foreach (var id in ids) Assert.True(await bucket.Contains(id));
        Assert.Equal(1, await SweepIndex.RemindersOf(fixture, bucket));
        Assert.Equal(0, await SweepIndex.RemindersOf(fixture, fixture.Grains.GetGrain<IConnectionGrain>(ids[0])));

        await fixture.Grains.GetGrain<IConnectionGrain>(ids[0]).Disconnect("test");
        Assert.False(await bucket.Contains(ids[0]));

        fixture.Connections.Vanish(ids[1]);
        Assert.True(await fixture.Grains.GetGrain<IConnectionGrain>(ids[1]).Gone(room));
        Assert.False(await bucket.Contains(ids[1]));

        Assert.True((await fixture.Grains.GetGrain<IConnectionGrain>(ids[2]).Close("test")).Closed);
        Assert.False(await bucket.Contains(ids[2]));

        Assert.True(await bucket.Contains(ids[3]));
        Assert.Equal(1, await bucket.Count());
    }

    [Fact]
    public async Task A_reconnect_with_the_same_id_does_not_register_twice()
    {
        var at = DateTimeOffset.UtcNow;
        var id = SweepIndex.NewId();
        await ConnectAsync(id, "index-again", at);
        await ConnectAsync(id, "index-again", at);

        Assert.True(await SweepIndex.Bucket(fixture.Grains, id, at).Contains(id));
        await fixture.Grains.GetGrain<IConnectionGrain>(id).Disconnect("test");
        Assert.False(await SweepIndex.Bucket(fixture.Grains, id, at).Contains(id));
    }

    [Fact]
    public async Task Buckets_and_connections_come_back_from_storage_after_their_activations_are_collected()
    {
        var at = SweepIndex.UnusedMinute();
        var room = "index-" + Guid.NewGuid().ToString("N")[..8];
        var ids = SweepIndex.IdsInOneBucket(3, at);
        foreach (var id in ids) await ConnectAsync(id, room, at);
        var bucket = SweepIndex.Bucket(fixture.Grains, ids[0], at);
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);

        await management.ForceActivationCollection(TimeSpan.Zero);

        Assert.Equal(3, await bucket.Count());
        Assert.Equal([room], (await fixture.Grains.GetGrain<IConnectionGrain>(ids[0]).GetSnapshot())!.Rooms.Where(r => r != "lobby"));
        var reply = await fixture.Grains.GetGrain<IConnectionGrain>(ids[0]).Handle(new SendToRoom(room, "\"after reactivation\"", true));
        Assert.Equal(200, reply.Status);
        Assert.Equal(3, Assert.IsType<Sent>(reply).Recipients);

        // A removal is written shortly after; once written, it survives the bucket's next reactivation too.
        await fixture.Grains.GetGrain<IConnectionGrain>(ids[1]).Disconnect("test");
        await SweepIndex.WaitUntilAsync(async () =>
        {
            await management.ForceActivationCollection(TimeSpan.Zero);
            return await bucket.Count() == 2;
        }, "the removal is in storage");
        Assert.False(await bucket.Contains(ids[1]));
        Assert.Equal(1, await SweepIndex.RemindersOf(fixture, bucket));
    }
}

/// <summary>
/// A connection's grain is not in memory once its <c>/connect</c> is answered (<see cref="IConnectorGrain"/> stores the
/// record without it): the connection lives in storage, and whatever comes next activates its grain.
/// </summary>
[Collection(ClusterTests.Name)]
public sealed class AfterConnectTests(ClusterFixture fixture)
{
    private Task<ConnectResult> ConnectAsync(string id, string room)
    {
        fixture.Connections.Add(id);
        return fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));
    }

    [Fact]
    public async Task A_connection_grain_is_not_in_memory_once_connected_and_its_next_message_loads_it()
    {
        var room = "after-connect-" + Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, 3).Select(_ => SweepIndex.NewId()).ToList();
        foreach (var id in ids) await ConnectAsync(id, room);
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);

        foreach (var id in ids)
        {
            var grain = (GrainReference)(object)fixture.Grains.GetGrain<IConnectionGrain>(id);
            await SweepIndex.WaitUntilAsync(async () => await management.GetGrainActivationCount(grain) == 0,
                "no connection grain is in memory after its /connect");
        }

        var reply = await fixture.Grains.GetGrain<IConnectionGrain>(ids[0]).Handle(new SendToRoom(room, "\"after connect\"", true));
        Assert.Equal(200, reply.Status);
        Assert.Equal(3, Assert.IsType<Sent>(reply).Recipients);
        await fixture.DrainAsync();
        Assert.All(ids, id => Assert.Contains(fixture.Connections.Received(id), m => m.Contains("after connect", StringComparison.Ordinal)));
        Assert.Contains(room, (await fixture.Grains.GetGrain<IConnectionGrain>(ids[1]).GetSnapshot())!.Rooms);
    }

    [Fact]
    public async Task Calls_sent_the_moment_connect_is_answered_are_all_served()
    {
        var room = "race-" + Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, 20).Select(_ => SweepIndex.NewId()).ToList();

        // Each connection's next calls are sent the moment its /connect is answered: the first of them activates its
        // grain, which must find the record /connect stored, and the others must reach that activation, not fail.
        var replies = await Task.WhenAll(ids.Select(async id =>
        {
            var result = await ConnectAsync(id, room);
            Assert.False(result.AlreadyConnected);
            var grain = fixture.Grains.GetGrain<IConnectionGrain>(id);
            return await Task.WhenAll(
                grain.Handle(new JoinRoom(room + "-a")),
                grain.Handle(new SendToRoom(room, "\"raced\"", false)),
                grain.Handle(new JoinRoom(room + "-b")));
        }));

        Assert.All(replies.SelectMany(r => r), r => Assert.Equal(200, r.Status));
        foreach (var id in ids)
        {
            var snapshot = await fixture.Grains.GetGrain<IConnectionGrain>(id).GetSnapshot();
            Assert.NotNull(snapshot);
            Assert.Superset(new HashSet<string> { room, room + "-a", room + "-b" }, snapshot.Rooms.ToHashSet());
        }
        Assert.Equal(ids.Count, await fixture.Grains.GetGrain<IRoomGrain>(room + "-b").Count());
    }
}

/// <summary>
/// The sweep index at work: expiry of a whole bucket, the per-silo pace of its checks, and idle connection grains
/// collected and reloaded.
/// </summary>
[Collection(SweepIndexClusterTests.Name)]
public sealed class SweepIndexPassTests(SweepIndexClusterFixture fixture)
{
    private async Task ConnectAsync(string id, string room, DateTimeOffset connectedAt)
    {
        fixture.Connections.Add(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], connectedAt, null, null, null));
    }

    [Fact]
    public async Task An_expired_bucket_drops_all_its_connections_without_asking_then_its_state_and_reminder()
    {
        var at = DateTimeOffset.UtcNow - TimeSpan.FromHours(2.5);
        var room = "expired-" + Guid.NewGuid().ToString("N")[..8];
        var ids = SweepIndex.IdsInOneBucket(3, at);
        // One room each: presence notices to other members would be Management API calls too.
        for (var i = 0; i < ids.Count; i++) await ConnectAsync(ids[i], room + i, at);
        var bucket = SweepIndex.Bucket(fixture.Grains, ids[0], at);
        Assert.Equal(1, await SweepIndex.RemindersOf(fixture, bucket));

        await SweepIndex.WaitUntilAsync(async () => await SweepIndex.RemindersOf(fixture, bucket) == 0, "the expired bucket retires");

        foreach (var id in ids) Assert.Null(await fixture.Grains.GetGrain<IConnectionGrain>(id).GetSnapshot());
        for (var i = 0; i < ids.Count; i++) Assert.Equal(0, await fixture.Grains.GetGrain<IRoomGrain>(room + i).Count());
        Assert.Equal(0, await bucket.Count());
        // Dropped without asking: API Gateway was never asked about them (nothing was posted either).
        Assert.Empty(fixture.Observed.LookupsOf(ids.ToHashSet()));
    }

    [Fact]
    public async Task Checks_keep_to_the_per_silo_rate_and_every_vanished_connection_is_swept()
    {
        var at = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 20).Select(_ => SweepIndex.NewId()).ToList();
        foreach (var id in ids) await ConnectAsync(id, "lobby", at);
        foreach (var id in ids) fixture.Connections.Vanish(id);

        foreach (var id in ids)
        {
            await SweepIndex.WaitUntilAsync(async () => await fixture.Grains.GetGrain<IConnectionGrain>(id).GetSnapshot() is null, "every vanished connection is swept");
        }

        var lookups = fixture.Observed.LookupsOf(ids.ToHashSet()).Order().ToList();
        Assert.True(lookups.Count >= ids.Count);
        // Each silo's token bucket holds ChecksPerSecond and refills ChecksPerSecond once a second: n checks need
        // ceil((n - burst) / rate) refills, a second apart. Timed by the fake API Gateway, a check arrives some time after
        // its token (seen: 9 in 0.9 s under load, where the tokens allow 8), so the span may fall short by a second.
        var silos = fixture.Cluster.Silos.Count;
        var burst = silos * SweepIndexClusterFixture.ChecksPerSecond;
        var refills = (int)Math.Ceiling((double)(lookups.Count - burst) / burst);
        var span = TimeSpan.FromSeconds((double)(lookups[^1] - lookups[0]) / Stopwatch.Frequency);
        Assert.True(span >= TimeSpan.FromSeconds(refills - 1),
            $"{lookups.Count} checks in {span.TotalSeconds:F1} s; at {SweepIndexClusterFixture.ChecksPerSecond}/s on each of {silos} silos they need {refills} s");
        foreach (var id in ids) Assert.False(await fixture.Grains.GetGrain<IRoomGrain>("lobby").IsMember(id));
    }

    [Fact]
    public async Task Idle_connection_grains_are_collected_and_reload_their_state_on_the_next_message()
    {
        var at = DateTimeOffset.UtcNow;
        var room = "idle-" + Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, 3).Select(_ => SweepIndex.NewId()).ToList();
        foreach (var id in ids) await ConnectAsync(id, room, at);
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        var sample = (GrainReference)(object)fixture.Grains.GetGrain<IConnectionGrain>(ids[0]);
        // /connect activates no connection grain; a message activates this one, and it is its idle age that must
        // collect it.
        Assert.Equal(200, (await fixture.Grains.GetGrain<IConnectionGrain>(ids[0]).Handle(new JoinRoom(room))).Status);
        Assert.Equal(1, await management.GetGrainActivationCount(sample));

        await SweepIndex.WaitUntilAsync(async () => await management.GetGrainActivationCount(sample) == 0,
            "Orleans collects the idle connection grains (Connections:IdleActivationAge 3 s)");

        var reply = await fixture.Grains.GetGrain<IConnectionGrain>(ids[0]).Handle(new SendToRoom(room, "\"still here\"", true));
        Assert.Equal(200, reply.Status);
        Assert.Equal(3, Assert.IsType<Sent>(reply).Recipients);
        await fixture.DrainAsync();
        Assert.All(ids, id => Assert.Contains(fixture.Connections.Received(id), m => m.Contains("still here", StringComparison.Ordinal)));
        Assert.True(await SweepIndex.Bucket(fixture.Grains, ids[2], at).Contains(ids[2]));
    }
}

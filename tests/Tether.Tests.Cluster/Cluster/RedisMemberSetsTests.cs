using Microsoft.Extensions.Options;
using Orleans.Configuration;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using Tether.Grains;
using Tether.Hosting;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// Member sets in a real Redis (or Garnet, <c>TETHER_TEST_REDIS=garnet</c>): one command per change, idempotent, an
/// atomic replacement for hand-overs, keys under the service id, and a write that fails when Redis is gone leaving the
/// members as they were.
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisMemberSetsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(RedisMemberSetsTests));
        output.WriteLine(_redis.Description);
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static RedisMemberSets Sets(IConnectionMultiplexer connection, string serviceId = "svc") =>
        new(new TetherRedisConnection(connection), Options.Create(new ClusterOptions { ServiceId = serviceId }));

    [Fact]
    public async Task Adding_and_removing_are_idempotent_and_an_emptied_set_leaves_no_key()
    {
        var sets = Sets(_connection);
        await sets.AddAsync("room/a", "c1");
        await sets.AddAsync("room/a", "c1");
        await sets.AddAsync("room/a", "c2");
        await sets.RemoveAsync("room/a", ["c2", "nobody"]);
        await sets.RemoveAsync("room/a", ["c2"]);
        Assert.Equal(["c1"], await sets.ReadAsync("room/a"));
        Assert.Empty(await sets.ReadAsync("room/never"));

        await sets.RemoveAsync("room/a", ["c1"]);
        Assert.Empty(await sets.ReadAsync("room/a"));
        Assert.False(await _connection.GetDatabase().KeyExistsAsync("svc/membersets/room/a"));
    }

    [Fact]
    public async Task Keys_start_with_the_service_id_so_clusters_sharing_a_Redis_keep_apart()
    {
        await Sets(_connection, "blue").AddAsync("room/lobby", "c1");
        await Sets(_connection, "green").AddAsync("room/lobby", "c2");

        Assert.Equal(["c1"], await Sets(_connection, "blue").ReadAsync("room/lobby"));
        Assert.Equal(["c2"], await Sets(_connection, "green").ReadAsync("room/lobby"));
        Assert.Equal(RedisType.Set, await _connection.GetDatabase().KeyTypeAsync("blue/membersets/room/lobby"));
    }

    [Fact]
    public async Task Replacing_a_large_set_is_one_atomic_write_of_exactly_the_new_members()
    {
        // More members than a script's arguments could carry: a shard may hand over its whole capacity.
        var sets = Sets(_connection);
        string[] before = [.. Enumerable.Range(0, 50).Select(i => "old" + i)];
        string[] after = [.. Enumerable.Range(0, 12_000).Select(i => "new" + i)];
        foreach (var member in before) await sets.AddAsync("shard/1/big", member);

        // Readers on another connection while it is replaced see the old set or the new one, never a mix.
        await using var reader = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var seen = new List<long>();
        using var stop = new CancellationTokenSource();
        var watching = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested) seen.Add(await reader.GetDatabase().SetLengthAsync("svc/membersets/shard/1/big"));
        });
        for (var i = 0; i < 10; i++)
        {
            await sets.ReplaceAsync("shard/1/big", after);
            await sets.ReplaceAsync("shard/1/big", before);
        }
        await sets.ReplaceAsync("shard/1/big", after);
        await stop.CancelAsync();
        await watching;

        Assert.Equal(after.Order(StringComparer.Ordinal), (await sets.ReadAsync("shard/1/big")).Order(StringComparer.Ordinal));
        Assert.All(seen, length => Assert.Contains(length, new long[] { before.Length, after.Length }));
        output.WriteLine($"{seen.Count} reads during the replacements, lengths seen: {string.Join(", ", seen.Distinct())}");

        await sets.ReplaceAsync("shard/1/big", []);
        Assert.False(await _connection.GetDatabase().KeyExistsAsync("svc/membersets/shard/1/big"));
    }

    [Fact]
    public async Task A_join_or_leave_is_one_command_whatever_the_sets_size()
    {
        var sets = Sets(_connection);
        for (var i = 0; i < 3000; i++) await sets.AddAsync("room/large", "member-" + i);
        await sets.AddAsync("room/small", "member-0");

        var small = await CommandsAsync(async () =>
        {
            for (var i = 1; i <= 100; i++) await sets.AddAsync("room/small", "joiner-" + i);
            for (var i = 1; i <= 100; i++) await sets.RemoveAsync("room/small", ["joiner-" + i]);
        });
        var large = await CommandsAsync(async () =>
        {
            for (var i = 1; i <= 100; i++) await sets.AddAsync("room/large", "joiner-" + i);
            for (var i = 1; i <= 100; i++) await sets.RemoveAsync("room/large", ["joiner-" + i]);
        });

        string[] expected = [.. Enumerable.Repeat("SADD", 100), .. Enumerable.Repeat("SREM", 100)];
        Assert.Equal(expected, small);
        Assert.Equal(expected, large);
    }

    [Fact]
    public async Task A_change_while_Redis_is_down_fails_and_leaves_the_stored_and_held_members_as_they_were()
    {
        var server = await RedisServer.StartAsync();
        var stopped = false;
        try
        {
            var options = ConfigurationOptions.Parse(server.ConnectionString);
            options.AbortOnConnectFail = false;
            options.AsyncTimeout = 1000;
            options.ConnectTimeout = 1000;
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            var members = new MemberSet(Sets(connection), MemberSet.OfShard("0/down"));
            await members.AddAsync("kept");

            await server.DisposeAsync();
            stopped = true;

            var adding = await Assert.ThrowsAnyAsync<Exception>(() => members.AddAsync("refused"));
            var removing = await Assert.ThrowsAnyAsync<Exception>(() => members.RemoveAsync("kept"));
            var replacing = await Assert.ThrowsAnyAsync<Exception>(() => members.ReplaceAsync(["other"]));
            output.WriteLine($"{adding.GetType().Name}, {removing.GetType().Name}, {replacing.GetType().Name}");
            Assert.All(new[] { adding, removing, replacing }, e => Assert.True(e is RedisException or TimeoutException, e.ToString()));
            Assert.Equal(["kept"], members.Members);
        }
        finally
        {
            if (!stopped) await server.DisposeAsync();
        }
    }

    /// <summary>The commands this client sent while <paramref name="changes"/> ran (StackExchange.Redis's profiler).</summary>
    private async Task<List<string>> CommandsAsync(Func<Task> changes)
    {
        var session = new ProfilingSession();
        _connection.RegisterProfiler(() => session);
        try
        {
            await changes();
        }
        finally
        {
            _connection.RegisterProfiler(() => null);
        }
        return [.. session.FinishProfiling().Select(c => c.Command)];
    }
}

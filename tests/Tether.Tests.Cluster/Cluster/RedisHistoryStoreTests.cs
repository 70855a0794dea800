using System.Diagnostics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tether.Contracts;
using Tether.Grains;
using Tether.Hosting;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// The Redis history store against a real Redis: what it keeps, trims and forgets, epochs, request ids, and what
/// grouping appends is worth to a busy room.
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisHistoryStoreTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(RedisHistoryStoreTests));
        output.WriteLine(_redis.Description);
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private RedisHistoryStore Store(int size = 5, TimeSpan? ttl = null, TimeProvider? time = null) =>
        new(new TetherRedisConnection(_connection), Options.Create(new HistoryOptions { Size = size, Ttl = ttl ?? TimeSpan.FromHours(1) }), time ?? TimeProvider.System);

    private static HistoryEntry Entry(long seq, string? requestId = null, DateTimeOffset? at = null) =>
        new(seq, "m" + seq, System.Text.Encoding.UTF8.GetBytes($"{{\"seq\":{seq}}}"), at ?? DateTimeOffset.UtcNow, requestId, 3);

    [Fact]
    public async Task A_seq_already_stored_is_refused_and_changes_nothing()
    {
        // A second activation of the stream (briefly possible after a silo died) must not write a seq twice.
        var store = Store(size: 10);
        var head = await store.OpenAsync("room:twice");
        await store.AppendAsync("room:twice", head.Epoch, [Entry(1), Entry(2), Entry(3)]);

        await Assert.ThrowsAsync<RedisServerException>(() => store.AppendAsync("room:twice", head.Epoch, [Entry(3, "again")]));

        Assert.Equal([1L, 2L, 3L], (await store.ReadAsync("room:twice", 0, long.MaxValue, 100)).Select(e => e.Seq));
        Assert.Null(await store.FindRequestAsync("room:twice", "again"));
        Assert.Equal(3, (await store.OpenAsync("room:twice")).Seq);
    }

    [Fact]
    public async Task A_stream_keeps_its_epoch_and_latest_seq_and_the_last_Size_messages()
    {
        var store = Store(size: 5);
        var head = await store.OpenAsync("room:a");
        Assert.Equal(0, head.Seq);

        await store.AppendAsync("room:a", head.Epoch, [.. Enumerable.Range(1, 4).Select(i => Entry(i))]);
        await store.AppendAsync("room:a", head.Epoch, [.. Enumerable.Range(5, 4).Select(i => Entry(i))]);
        var reopened = await store.OpenAsync("room:a");
        var all = await store.ReadAsync("room:a", 0, 100, int.MaxValue);
        var page = await store.ReadAsync("room:a", 5, 100, 2);

        Assert.Equal(new StreamHead(head.Epoch, 8), reopened);
        Assert.Equal([4L, 5, 6, 7, 8], all.Select(e => e.Seq));
        Assert.Equal(("m4", "{\"seq\":4}"), (all[0].MessageId, System.Text.Encoding.UTF8.GetString(all[0].Payload)));
        Assert.Equal([6L, 7], page.Select(e => e.Seq));
    }

    [Fact]
    public async Task A_stream_whose_keys_are_gone_starts_a_new_epoch_at_seq_0()
    {
        var store = Store();
        var head = await store.OpenAsync("room:b");
        await store.AppendAsync("room:b", head.Epoch, [Entry(1), Entry(2)]);

        await _connection.GetDatabase().KeyDeleteAsync("tether:history:{room:b}:epoch");
        var after = await store.OpenAsync("room:b");

        Assert.NotEqual(head.Epoch, after.Epoch);
        Assert.Equal(0, after.Seq);
        Assert.Empty(await store.ReadAsync("room:b", 0, 100, int.MaxValue));
    }

    [Fact]
    public async Task Messages_older_than_the_ttl_are_not_read_and_the_keys_expire()
    {
        var store = Store(ttl: TimeSpan.FromMinutes(10));
        var head = await store.OpenAsync("room:c");
        await store.AppendAsync("room:c", head.Epoch, [Entry(1, at: DateTimeOffset.UtcNow.AddMinutes(-11)), Entry(2)]);

        var read = await store.ReadAsync("room:c", 0, 100, int.MaxValue);
        var ttl = await _connection.GetDatabase().KeyTimeToLiveAsync("tether:history:{room:c}:messages");

        Assert.Equal([2L], read.Select(e => e.Seq));
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task A_request_id_is_found_with_its_receipt_for_five_minutes()
    {
        var store = Store();
        var head = await store.OpenAsync("user:u");
        await store.AppendAsync("user:u", head.Epoch, [Entry(1, requestId: "r-1")]);

        var found = await store.FindRequestAsync("user:u", "r-1");
        var ttl = await _connection.GetDatabase().KeyTimeToLiveAsync("tether:history:{user:u}:request:r-1");

        Assert.Equal(new PublishReceipt("m1", 3, 1, head.Epoch), found);
        Assert.Null(await store.FindRequestAsync("user:u", "r-2"));
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
    }

    /// <summary>
    /// Messages/s into one stream from 64 concurrent senders: grouped (what a room does: one round trip per group) and
    /// one append per message in turn (what a room would do without grouping). The figure is in docs/performance.md.
    /// </summary>
    [Fact]
    public async Task A_busy_stream_groups_its_appends_instead_of_one_round_trip_per_message()
    {
        const int Messages = 4000;
        var store = new CountingStore(Store(size: 100));
        var payload = Envelopes.Message(Envelopes.NewMessageId(), "grouped", null, null, "\"" + new string('x', 150) + "\"", DateTimeOffset.UtcNow);

        var ungroupedHead = await store.OpenAsync("room:ungrouped");
        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= Messages; i++) await store.AppendAsync("room:ungrouped", ungroupedHead.Epoch, [Entry(i)]);
        var ungrouped = Messages / clock.Elapsed.TotalSeconds;
        var ungroupedAppends = store.Appends;

        var stream = new MessageStream("room:grouped", store, new HistoryOptions { Size = 100 }, TimeProvider.System,
            group => Task.FromResult(new int[group.Count]));
        await Serially(async () =>
        {
            await stream.OpenAsync();
            return 0;
        });
        clock.Restart();
        await Parallel.ForEachAsync(Enumerable.Range(0, Messages), new ParallelOptions { MaxDegreeOfParallelism = 64 },
            async (_, _) => await Serially(() => stream.AcceptAsync(payload, null, false, null, 0)));
        var grouped = Messages / clock.Elapsed.TotalSeconds;
        var groupedAppends = store.Appends - ungroupedAppends;

        // The speed is a figure for docs/performance.md (it depends on the machine); the round trips are the behaviour.
        output.WriteLine($"history appends to one stream, {Messages} messages: one round trip per message {ungrouped:F0}/s, grouped {grouped:F0}/s ({grouped / ungrouped:F1}x) in {groupedAppends} round trips");
        Figures.Write("history-grouping", $"one round trip per message {ungrouped:F0} msg/s; grouped {grouped:F0} msg/s ({grouped / ungrouped:F1}x) in {groupedAppends} round trips");
        Assert.Equal(Messages, stream.Posted);
        Assert.Equal(Messages, store.Entries - ungroupedAppends);
        // 64 senders keep messages waiting while each write is out: they go together in the next one.
        Assert.True(groupedAppends <= Messages / 2, $"{groupedAppends} round trips for {Messages} messages from 64 concurrent senders");
    }

    /// <summary>Counts the store's appends (one Redis round trip each) and the entries they carry.</summary>
    private sealed class CountingStore(IHistoryStore inner) : IHistoryStore
    {
        private int _appends;
        private int _entries;

        public int Appends => Volatile.Read(ref _appends);

        public int Entries => Volatile.Read(ref _entries);

        public Task<StreamHead> OpenAsync(string stream) => inner.OpenAsync(stream);

        public Task AppendAsync(string stream, string epoch, IReadOnlyList<HistoryEntry> entries)
        {
            Interlocked.Increment(ref _appends);
            Interlocked.Add(ref _entries, entries.Count);
            return inner.AppendAsync(stream, epoch, entries);
        }

        public Task<IReadOnlyList<HistoryEntry>> ReadAsync(string stream, long after, long upTo, int limit) => inner.ReadAsync(stream, after, upTo, limit);

        public Task<PublishReceipt?> FindRequestAsync(string stream, string requestId) => inner.FindRequestAsync(stream, requestId);
    }

    // A grain runs one piece at a time: the senders' calls into the stream, and its own continuations, take turns
    // on one exclusive scheduler like a reentrant room's.
    private readonly TaskScheduler _turns = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;

    private Task<T> Serially<T>(Func<Task<T>> call) =>
        Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.None, _turns).Unwrap();
}

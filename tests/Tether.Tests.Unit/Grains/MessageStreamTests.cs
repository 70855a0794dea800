using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Tether.Tests.Grains;

/// <summary>
/// The seq logic of a stream, on the in-memory store: consecutive seqs, appends grouped while one is under way, a
/// failed append that neither skips nor reuses a seq, and what the store keeps.
/// </summary>
public sealed class MessageStreamTests
{
    // A grain runs one piece at a time: so do these tests' calls into a stream, and the stream's own continuations.
    private readonly TaskScheduler _turns = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;

    private Task<T> OnTurn<T>(Func<Task<T>> call) =>
        Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.None, _turns).Unwrap();

    private static OutboundMessage Message(string text) =>
        Envelopes.Message(Envelopes.NewMessageId(), "r", null, null, JsonSerializer.Serialize(text), DateTimeOffset.UtcNow);

    private static HistoryOptions Options(int size = 100) => new() { Size = size };

    [Fact]
    public async Task Concurrent_messages_get_consecutive_seqs_are_stored_in_groups_and_posted_in_seq_order()
    {
        var store = new HeldStore(new InMemoryHistoryStore(Microsoft.Extensions.Options.Options.Create(Options()), TimeProvider.System));
        var posted = new List<long>();
        var stream = new MessageStream("room:r", store, Options(), TimeProvider.System, group =>
        {
            posted.AddRange(group.Select(s => s.Seq));
            return Task.FromResult(new int[group.Count]);
        });

        store.Hold();
        var first = OnTurn(() => stream.AcceptAsync(Message("1"), null, false, null, 0));
        await store.Holding.Task;
        var rest = Enumerable.Range(2, 9).Select(i => OnTurn(() => stream.AcceptAsync(Message(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), null, false, null, 0))).ToList();
        // The exclusive scheduler runs in order: once this turn has run, the nine have been accepted and wait.
        await OnTurn(() => Task.FromResult(0));
        store.Release();
        var receipts = await Task.WhenAll([first, .. rest]);

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), receipts.Select(r => r.Seq!.Value));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), posted);
        // The first message alone, then the nine that waited behind it together.
        Assert.Equal([1, 9], store.Appends);
        Assert.Equal(10, stream.Posted);
        var payload = JsonDocument.Parse((await stream.ReadAsync(0, 10, 10))[9].Payload).RootElement;
        Assert.Equal((10L, stream.Epoch, "message"), (payload.GetProperty("seq").GetInt64(), payload.GetProperty("epoch").GetString(), payload.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task A_failed_append_fails_its_senders_and_the_next_message_continues_after_what_is_stored()
    {
        var memory = new InMemoryHistoryStore(Microsoft.Extensions.Options.Options.Create(Options()), TimeProvider.System);
        var store = new HeldStore(memory);
        var stream = new MessageStream("room:f", store, Options(), TimeProvider.System, group => Task.FromResult(new int[group.Count]));

        var one = await OnTurn(() => stream.AcceptAsync(Message("1"), null, false, null, 0));
        store.FailNext();
        await Assert.ThrowsAsync<InvalidOperationException>(() => OnTurn(() => stream.AcceptAsync(Message("2"), null, false, "lost", 0)));
        var retried = await OnTurn(() => stream.AcceptAsync(Message("2"), null, false, "lost", 0));

        Assert.Equal((1L, 2L), (one.Seq!.Value, retried.Seq!.Value));
        Assert.Equal(one.Epoch, retried.Epoch);
        Assert.Equal([1L, 2], (await memory.ReadAsync("room:f", 0, 10, 10)).Select(e => e.Seq));
    }

    [Fact]
    public async Task A_repeated_request_id_gets_the_first_receipt_even_in_a_new_activation()
    {
        var memory = new InMemoryHistoryStore(Microsoft.Extensions.Options.Options.Create(Options()), TimeProvider.System);
        var posts = 0;
        MessageStream NewActivation() => new("user:u", memory, Options(), TimeProvider.System, group =>
        {
            posts += group.Count;
            return Task.FromResult(Enumerable.Repeat(2, group.Count).ToArray());
        });

        var first = NewActivation();
        var accepted = await OnTurn(() => first.AcceptAsync(Message("a"), null, false, "req", 2));
        var again = await OnTurn(() => first.AcceptAsync(Message("a"), null, false, "req", 2));
        var second = NewActivation();
        var afterMove = await OnTurn(() => second.AcceptAsync(Message("a"), null, false, "req", 2));

        Assert.Equal(accepted, again);
        Assert.Equal((accepted.MessageId, accepted.Seq, accepted.Epoch), (afterMove.MessageId, afterMove.Seq, afterMove.Epoch));
        Assert.Equal(1, posts);
    }

    [Fact]
    public async Task The_memory_store_keeps_the_last_Size_messages_and_replay_says_when_some_are_gone()
    {
        var memory = new InMemoryHistoryStore(Microsoft.Extensions.Options.Options.Create(Options(size: 3)), TimeProvider.System);
        var stream = new MessageStream("room:t", memory, Options(size: 3), TimeProvider.System, group => Task.FromResult(new int[group.Count]));
        for (var i = 0; i < 5; i++) await OnTurn(() => stream.AcceptAsync(Message("m"), null, false, null, 0));

        var kept = await OnTurn(() => stream.ReplayFromAsync(new StreamPosition(stream.Epoch, 2)));
        var trimmed = await OnTurn(() => stream.ReplayFromAsync(new StreamPosition(stream.Epoch, 1)));

        Assert.Equal((true, 3), (kept.Resume.Recovered, kept.Resume.Replayed));
        Assert.Equal([3L, 4, 5], kept.Replay.Select(m => JsonDocument.Parse(m.Payload).RootElement.GetProperty("seq").GetInt64()));
        Assert.Equal((false, 0, 5L), (trimmed.Resume.Recovered, trimmed.Resume.Replayed, trimmed.Resume.Seq));
        Assert.Empty(trimmed.Replay);
    }

    [Fact]
    public void With_position_appends_seq_and_epoch_and_keeps_every_other_field()
    {
        var message = Envelopes.Message("id1", "r", "c", "u", "{\"x\":\"}\"}", DateTimeOffset.UnixEpoch);

        var positioned = Envelopes.WithPosition(message, 42, "e\"poch");
        var json = JsonDocument.Parse(positioned.Payload).RootElement;

        Assert.Equal((42L, "e\"poch", "{\"x\":\"}\"}"), (json.GetProperty("seq").GetInt64(), json.GetProperty("epoch").GetString(), json.GetProperty("body").GetRawText()));
        Assert.Equal((message.Id, Envelopes.Sha256Hex(positioned.Payload)), (positioned.Id, positioned.PayloadSha256));
    }

    /// <summary>The in-memory store, with appends that can be held at a gate or made to fail once.</summary>
    private sealed class HeldStore(IHistoryStore inner) : IHistoryStore
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _holdNext;
        private bool _failNext;

        public List<int> Appends { get; } = [];
        public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Hold() => _holdNext = true;

        public void Release() => _gate.SetResult();

        public void FailNext() => _failNext = true;

        public Task<StreamHead> OpenAsync(string stream) => inner.OpenAsync(stream);

        public async Task AppendAsync(string stream, string epoch, IReadOnlyList<HistoryEntry> entries)
        {
            Appends.Add(entries.Count);
            if (_failNext)
            {
                _failNext = false;
                throw new InvalidOperationException("The store is down.");
            }
            if (_holdNext)
            {
                _holdNext = false;
                Holding.SetResult();
                await _gate.Task;
            }
            await inner.AppendAsync(stream, epoch, entries);
        }

        public Task<IReadOnlyList<HistoryEntry>> ReadAsync(string stream, long after, long upTo, int limit) => inner.ReadAsync(stream, after, upTo, limit);

        public Task<PublishReceipt?> FindRequestAsync(string stream, string requestId) => inner.FindRequestAsync(stream, requestId);
    }
}

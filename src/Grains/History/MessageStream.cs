using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// One room's or user's message stream inside its grain activation: gives each accepted message the next seq, stores
/// it in the history, then posts it, and remembers accepted <c>requestId</c>s (contract §7).
/// <para>
/// Messages accepted while a store write is under way wait and go together in the next one: a busy room makes one
/// history round trip per group, not per message. Posts follow in seq order, one group after the other, and the
/// senders hear back only once their message is stored. A failed write fails its group and every message waiting
/// behind it, and the stream reads its head again before the next message, so no seq is skipped or reused.
/// </para>
/// </summary>
internal sealed class MessageStream(
    string name,
    IHistoryStore store,
    HistoryOptions options,
    TimeProvider time,
    Func<IReadOnlyList<Sequenced>, Task<int[]>> post,
    RoomGate? gate = null)
{
    /// <summary>Request ids remembered in the activation at most; older ones are looked up in the store.</summary>
    private const int MaxRememberedRequests = 10_000;

    private readonly List<Sequenced> _pending = [];
    private readonly Dictionary<string, Task<PublishReceipt>> _requests = new(StringComparer.Ordinal);
    private readonly Queue<(string RequestId, long At)> _requestOrder = new();
    private Task? _opening;
    private bool _flushing;
    private long _assigned;
    // Until then a request id may have been accepted outside this activation's memory: ask the store.
    private long _askStoreUntil;

    public string Epoch { get; private set; } = "";

    /// <summary>The latest seq whose posts are queued (and that is stored): a join takes effect after it.</summary>
    public long Posted { get; private set; }

    public string Name => name;

    public Task OpenAsync() => _opening ??= OpenCoreAsync();

    private async Task OpenCoreAsync()
    {
        var head = options.Enabled ? await store.OpenAsync(name) : new StreamHead(HistoryStreams.NewEpoch(), 0);
        Epoch = head.Epoch;
        Posted = _assigned = head.Seq;
        _askStoreUntil = time.GetTimestamp() + (long)(HistoryOptions.RequestIdWindow.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>
    /// Accepts a message: the receipt once it is stored and its posts are queued. A <paramref name="requestId"/> this
    /// stream accepted within the window gets that acceptance's receipt, and nothing is posted again.
    /// </summary>
    public async Task<PublishReceipt> AcceptAsync(OutboundMessage message, string? except, bool track, string? requestId, int expectedRecipients)
    {
        await OpenAsync();
        if (requestId is null) return await Enqueue(message, except, track, null, expectedRecipients);
        ForgetOldRequests();
        if (_requests.TryGetValue(requestId, out var earlier)) return await earlier;

        var accepted = new TaskCompletionSource<PublishReceipt>(TaskCreationOptions.RunContinuationsAsynchronously);
        Remember(requestId, accepted.Task);
        try
        {
            if (options.Enabled && time.GetTimestamp() < _askStoreUntil && await store.FindRequestAsync(name, requestId) is { } stored)
            {
                accepted.SetResult(stored);
                return stored;
            }
            var receipt = await Enqueue(message, except, track, requestId, expectedRecipients);
            accepted.SetResult(receipt);
            return receipt;
        }
        catch (Exception e)
        {
            // Not accepted: a retry with the same id must be tried afresh.
            _requests.Remove(requestId);
            accepted.SetException(e);
            _ = accepted.Task.Exception;
            throw;
        }
    }

    private Task<PublishReceipt> Enqueue(OutboundMessage message, string? except, bool track, string? requestId, int expectedRecipients)
    {
        var seq = ++_assigned;
        var sequenced = new Sequenced(Envelopes.WithPosition(message, seq, Epoch), seq, except, track, requestId, expectedRecipients);
        _pending.Add(sequenced);
        if (!_flushing)
        {
            _flushing = true;
            _ = FlushAsync();
        }
        return sequenced.Accepted.Task;
    }

    private async Task FlushAsync()
    {
        try
        {
            while (_pending.Count > 0)
            {
                Sequenced[] group = [.. _pending];
                _pending.Clear();
                try
                {
                    if (options.Enabled)
                    {
                        var at = time.GetUtcNow();
                        await store.AppendAsync(name, Epoch, [.. group.Select(s => new HistoryEntry(s.Seq, s.Message.Id, s.Message.Payload, at, s.RequestId, s.ExpectedRecipients))]);
                    }
                }
                catch (Exception e)
                {
                    Fail(group, e);
                    Sequenced[] waiting = [.. _pending];
                    _pending.Clear();
                    Fail(waiting, e);
                    // The store may hold part of the group: read the head again before the next seq is given.
                    _opening = null;
                    return;
                }
                try
                {
                    int[] counts;
                    if (gate is null)
                    {
                        counts = await post(group);
                        Posted = group[^1].Seq;
                    }
                    else
                    {
                        using (await gate.SharedAsync())
                        {
                            counts = await post(group);
                            Posted = group[^1].Seq;
                        }
                    }
                    for (var i = 0; i < group.Length; i++)
                    {
                        group[i].Accepted.SetResult(new PublishReceipt(group[i].Message.Id, counts[i], group[i].Seq, Epoch));
                    }
                }
                catch (Exception e)
                {
                    // Stored, so its seq is taken: later messages go on after it.
                    Posted = group[^1].Seq;
                    Fail(group, e);
                }
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    /// <summary>
    /// What a client at <paramref name="since"/> must be sent to catch up to <see cref="Posted"/>: recovered only when the
    /// epoch is current and every message after it is still stored. Call it where no post of this stream runs meanwhile.
    /// </summary>
    public async Task<(StreamResume Resume, IReadOnlyList<OutboundMessage> Replay)> ReplayFromAsync(StreamPosition since)
    {
        await OpenAsync();
        var latest = Posted;
        StreamResume Lost() => new(Recovered: false, 0, Epoch, latest);
        if (!options.Enabled || since.Epoch != Epoch || since.Seq > latest) return (Lost(), []);
        if (since.Seq == latest) return (new StreamResume(true, 0, Epoch, latest), []);
        var entries = await store.ReadAsync(name, since.Seq, latest, int.MaxValue);
        if (entries.Count != latest - since.Seq || entries[0].Seq != since.Seq + 1) return (Lost(), []);
        return (new StreamResume(true, entries.Count, Epoch, latest),
            [.. entries.Select(e => new OutboundMessage(e.MessageId, e.Payload, Envelopes.Sha256Hex(e.Payload)))]);
    }

    /// <summary>
    /// The first <paramref name="limit"/> stored messages with <paramref name="after"/> &lt; seq ≤ <paramref name="upTo"/>
    /// (and at most <see cref="Posted"/>), ascending.
    /// </summary>
    public async Task<IReadOnlyList<HistoryEntry>> ReadAsync(long after, long upTo, int limit)
    {
        await OpenAsync();
        upTo = Math.Min(upTo, Posted);
        if (!options.Enabled || after >= upTo || limit <= 0) return [];
        return await store.ReadAsync(name, Math.Max(0, after), upTo, limit);
    }

    private static void Fail(IEnumerable<Sequenced> group, Exception e)
    {
        foreach (var s in group) s.Accepted.TrySetException(e);
    }

    private void Remember(string requestId, Task<PublishReceipt> receipt)
    {
        _requests[requestId] = receipt;
        _requestOrder.Enqueue((requestId, time.GetTimestamp()));
        if (_requestOrder.Count > MaxRememberedRequests && _requestOrder.TryDequeue(out var dropped))
        {
            _requests.Remove(dropped.RequestId);
            // Forgotten before its window ended: look ids up in the store until it would have.
            _askStoreUntil = Math.Max(_askStoreUntil, dropped.At + (long)(HistoryOptions.RequestIdWindow.TotalSeconds * time.TimestampFrequency));
        }
    }

    private void ForgetOldRequests()
    {
        while (_requestOrder.TryPeek(out var oldest) && time.GetElapsedTime(oldest.At) > HistoryOptions.RequestIdWindow)
        {
            _requestOrder.Dequeue();
            _requests.Remove(oldest.RequestId);
        }
    }
}

/// <summary>A message with its place in the stream, waiting to be stored and posted.</summary>
internal sealed record Sequenced(OutboundMessage Message, long Seq, string? Except, bool Track, string? RequestId, int ExpectedRecipients)
{
    public TaskCompletionSource<PublishReceipt> Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

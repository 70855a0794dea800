using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// History in this process's memory (the embedded shape): it outlives grain activations, not the process, so an
/// embedded restart starts new epochs. Each stream keeps at most <see cref="HistoryOptions.Size"/> messages and
/// <see cref="MaxRequestIds"/> request ids.
/// </summary>
public sealed class InMemoryHistoryStore(IOptions<HistoryOptions> options, TimeProvider time) : IHistoryStore
{
    /// <summary>Request ids one stream remembers at most; past it the oldest are forgotten before their window ends.</summary>
    public const int MaxRequestIds = 10_000;

    private readonly HistoryOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, Stream> _streams = new(StringComparer.Ordinal);

    public Task<StreamHead> OpenAsync(string stream)
    {
        var s = _streams.GetOrAdd(stream, _ => new Stream(HistoryStreams.NewEpoch()));
        lock (s)
        {
            return Task.FromResult(new StreamHead(s.Epoch, s.Seq));
        }
    }

    public Task AppendAsync(string stream, string epoch, IReadOnlyList<HistoryEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var s = _streams.GetOrAdd(stream, _ => new Stream(epoch));
        var now = time.GetUtcNow();
        lock (s)
        {
            s.Epoch = epoch;
            foreach (var entry in entries)
            {
                s.Entries.Enqueue(entry);
                s.Seq = entry.Seq;
                if (entry.RequestId is { } requestId)
                {
                    s.Requests[requestId] = new PublishReceipt(entry.MessageId, entry.Recipients, entry.Seq, epoch);
                    s.RequestOrder.Enqueue((requestId, now));
                }
            }
            while (s.Entries.Count > _options.Size) s.Entries.Dequeue();
            while (s.RequestOrder.TryPeek(out var oldest) && (s.RequestOrder.Count > MaxRequestIds || now - oldest.At > HistoryOptions.RequestIdWindow))
            {
                s.RequestOrder.Dequeue();
                s.Requests.Remove(oldest.RequestId);
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<HistoryEntry>> ReadAsync(string stream, long after, long upTo, int limit)
    {
        if (!_streams.TryGetValue(stream, out var s)) return Task.FromResult<IReadOnlyList<HistoryEntry>>([]);
        var oldest = time.GetUtcNow() - _options.Ttl;
        lock (s)
        {
            return Task.FromResult<IReadOnlyList<HistoryEntry>>([.. s.Entries.Where(e => e.Seq > after && e.Seq <= upTo && e.At >= oldest).Take(limit)]);
        }
    }

    public Task<PublishReceipt?> FindRequestAsync(string stream, string requestId)
    {
        if (!_streams.TryGetValue(stream, out var s)) return Task.FromResult<PublishReceipt?>(null);
        lock (s)
        {
            return Task.FromResult(s.Requests.GetValueOrDefault(requestId));
        }
    }

    private sealed class Stream(string epoch)
    {
        public string Epoch { get; set; } = epoch;
        public long Seq { get; set; }
        public Queue<HistoryEntry> Entries { get; } = new();
        public Dictionary<string, PublishReceipt> Requests { get; } = new(StringComparer.Ordinal);
        public Queue<(string RequestId, DateTimeOffset At)> RequestOrder { get; } = new();
    }
}

namespace Tether.Delivery;

/// <summary>One post to make: a message's job and one recipient.</summary>
internal readonly record struct DeliveryItem(DeliveryJob Job, string ConnectionId);

/// <summary>
/// The dispatcher's queue: a FIFO per stream, streams take turns, any free worker takes the next item, and a recipient
/// has at most one post in flight (a busy recipient's items wait beside it), which keeps one stream's posts to one
/// recipient in order. Why this shape: docs/decisions/delivery-queue-fairness.md.
/// </summary>
internal sealed class DeliveryQueue : IDisposable
{
    // Enqueueing a huge fan-out in one go would hold the lock (and every worker) for milliseconds.
    private const int EnqueueChunk = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<DeliveryItem>> _streams = new(StringComparer.Ordinal);
    private readonly Queue<string> _turns = new();
    // Recipients with a post in flight, each with the items that arrived for it meanwhile (null: none yet).
    private readonly Dictionary<string, Queue<DeliveryItem>?> _busy = new(StringComparer.Ordinal);
    // One count per item in a stream queue: a worker that passes it takes exactly one item out of the streams.
    private readonly SemaphoreSlim _queued = new(0);
    private int _count;

    /// <summary>Items waiting in stream queues (not yet taken by a worker).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether <paramref name="stream"/> has items waiting.</summary>
    public bool HasQueued(string stream)
    {
        lock (_lock) return _streams.ContainsKey(stream);
    }

    public void Enqueue(string stream, DeliveryJob job, IReadOnlyList<string> connectionIds)
    {
        for (var start = 0; start < connectionIds.Count; start += EnqueueChunk)
        {
            var end = Math.Min(start + EnqueueChunk, connectionIds.Count);
            lock (_lock)
            {
                if (!_streams.TryGetValue(stream, out var queue))
                {
                    queue = new Queue<DeliveryItem>(Math.Min(connectionIds.Count, EnqueueChunk));
                    _streams[stream] = queue;
                    _turns.Enqueue(stream);
                }
                for (var i = start; i < end; i++) queue.Enqueue(new DeliveryItem(job, connectionIds[i]));
                _count += end - start;
            }
            _queued.Release(end - start);
        }
    }

    /// <summary>
    /// Waits for an item and takes it. Null when the item's recipient is busy: the item then waits for
    /// <see cref="Finished"/> of that recipient, and the caller simply takes again.
    /// </summary>
    public async ValueTask<DeliveryItem?> TakeAsync(CancellationToken cancellationToken)
    {
        await _queued.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var stream = _turns.Dequeue();
            var queue = _streams[stream];
            var item = queue.Dequeue();
            _count--;
            if (queue.Count > 0) _turns.Enqueue(stream);
            else _streams.Remove(stream);

            if (_busy.TryGetValue(item.ConnectionId, out var waiting))
            {
                (waiting ??= new Queue<DeliveryItem>()).Enqueue(item);
                _busy[item.ConnectionId] = waiting;
                return null;
            }
            _busy.Add(item.ConnectionId, null);
            return item;
        }
    }

    /// <summary>
    /// Marks <paramref name="connectionId"/>'s post as finished. Returns the next item waiting for that recipient
    /// (it stays busy and the caller posts it) or null (the recipient is free).
    /// </summary>
    public DeliveryItem? Finished(string connectionId)
    {
        lock (_lock)
        {
            if (_busy.TryGetValue(connectionId, out var waiting) && waiting is { Count: > 0 })
            {
                return waiting.Dequeue();
            }
            _busy.Remove(connectionId);
            return null;
        }
    }

    public void Dispose() => _queued.Dispose();
}

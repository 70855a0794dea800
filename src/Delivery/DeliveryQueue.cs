namespace Tether.Delivery;

/// <summary>One post to make: a message's job, one recipient, and the stream it came from.</summary>
internal readonly record struct DeliveryItem(DeliveryJob Job, string ConnectionId, string Stream);

/// <summary>
/// The dispatcher's queue: a FIFO per stream, streams take turns within their priority and a higher priority goes
/// first, any free worker takes the next item, and a recipient has at most one post in flight (a busy recipient's
/// items wait beside it), which keeps one stream's posts to one recipient in order. A recipient that takes batches has
/// at most one item in the streams: the ones after it wait beside it at once, so the worker that posts to it finds
/// them all and can carry them in one post. Why this shape: docs/decisions/delivery-queue-fairness.md and
/// docs/decisions/batched-delivery.md.
/// </summary>
internal sealed class DeliveryQueue : IDisposable
{
    // Enqueueing a huge fan-out in one go would hold the lock (and every worker) for milliseconds.
    private const int EnqueueChunk = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<DeliveryItem>> _streams = new(StringComparer.Ordinal);
    private readonly Queue<string>[] _turns = [new(), new(), new()];
    // Recipients with items in the streams, beside them, or a post in flight.
    private readonly Dictionary<string, Recipient> _recipients = new(StringComparer.Ordinal);
    // Posts put back by Resume: each goes to the next free worker, ahead of the streams (its recipient is busy with it).
    private readonly Queue<DeliveryItem> _resumed = new();
    // Items parked beside a busy recipient (or beside a batch recipient), per stream: they are that stream's queued
    // posts for admission as much as the items still in its queue.
    private readonly Dictionary<string, int> _parked = new(StringComparer.Ordinal);
    // One count per item in a stream queue: a worker that passes it takes exactly one item out of the streams.
    private readonly SemaphoreSlim _queued = new(0);
    private int _count;

    /// <summary>Items waiting in stream queues or parked beside their recipient (not yet being posted).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether <paramref name="stream"/> has items waiting.</summary>
    public bool HasQueued(string stream)
    {
        lock (_lock) return _streams.ContainsKey(stream) || _parked.ContainsKey(stream);
    }

    /// <summary>
    /// Queues one item per recipient. <paramref name="takesBatches"/> is asked for a recipient with nothing queued or
    /// in flight, and for a busy one with nothing in the streams (the only moment it can switch to batches without
    /// letting a newer item pass an older one).
    /// </summary>
    public void Enqueue(string stream, PostPriority priority, DeliveryJob job, IReadOnlyList<string> connectionIds, Func<string, bool> takesBatches)
    {
        for (var start = 0; start < connectionIds.Count; start += EnqueueChunk)
        {
            var end = Math.Min(start + EnqueueChunk, connectionIds.Count);
            var added = 0;
            lock (_lock)
            {
                if (!_streams.TryGetValue(stream, out var queue))
                {
                    queue = new Queue<DeliveryItem>(Math.Min(connectionIds.Count, EnqueueChunk));
                }
                for (var i = start; i < end; i++)
                {
                    var item = new DeliveryItem(job, connectionIds[i], stream);
                    if (!_recipients.TryGetValue(item.ConnectionId, out var recipient))
                    {
                        recipient = new Recipient { Batch = takesBatches(item.ConnectionId) };
                        _recipients.Add(item.ConnectionId, recipient);
                    }
                    else if (!recipient.Batch && recipient.InStreams == 0 && takesBatches(item.ConnectionId))
                    {
                        // Learnt while it was busy: everything older already waits beside it, in order, so it may switch.
                        SwitchToBatches(recipient);
                    }
                    if (recipient.Batch && (recipient.InFlight || recipient.InStreams > 0))
                    {
                        Park(recipient, item);
                        continue;
                    }
                    recipient.InStreams++;
                    queue.Enqueue(item);
                    added++;
                }
                _count += end - start;
                if (queue.Count > 0 && _streams.TryAdd(stream, queue)) _turns[(int)priority].Enqueue(stream);
            }
            if (added > 0) _queued.Release(added);
        }
    }

    /// <summary>Waits until an item is in the streams and reserves it for the caller's next <see cref="Take"/>.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _queued.WaitAsync(cancellationToken);

    /// <summary>
    /// Takes the most urgent item (after <see cref="WaitAsync"/>). Null when the item's recipient is busy: the item
    /// then waits for <see cref="Finished"/> of that recipient, and the caller simply waits and takes again.
    /// </summary>
    public DeliveryItem? Take()
    {
        lock (_lock)
        {
            if (_resumed.TryDequeue(out var resumed))
            {
                _count--;
                return resumed;
            }
            var turns = Array.Find(_turns, t => t.Count > 0)!;
            var stream = turns.Dequeue();
            var queue = _streams[stream];
            var item = queue.Dequeue();
            if (queue.Count > 0) turns.Enqueue(stream);
            else _streams.Remove(stream);

            var recipient = _recipients[item.ConnectionId];
            recipient.InStreams--;
            if (recipient.InFlight)
            {
                // Still queued, only parked: it stays counted until it is posted.
                Park(recipient, item);
                return null;
            }
            _count--;
            recipient.InFlight = true;
            return item;
        }
    }

    /// <summary>
    /// For a recipient that takes batches, takes the items waiting beside it, oldest first, while each one's
    /// payload plus one byte (its comma) fits in <paramref name="bytes"/>. Empty for any other recipient.
    /// </summary>
    public List<DeliveryItem> TakeBeside(string connectionId, int bytes)
    {
        var taken = new List<DeliveryItem>();
        lock (_lock)
        {
            if (!_recipients.TryGetValue(connectionId, out var recipient) || !recipient.Batch || recipient.Waiting is null) return taken;
            while (recipient.Waiting.TryPeek(out var next) && next.Job.Message.Payload.Length + 1 <= bytes)
            {
                bytes -= next.Job.Message.Payload.Length + 1;
                taken.Add(recipient.Waiting.Dequeue());
                Unpark(next);
            }
        }
        return taken;
    }

    /// <summary>
    /// Marks <paramref name="connectionId"/>'s post as finished. Returns the next item waiting for that recipient
    /// (it stays busy and the caller posts it) or null (the recipient is free).
    /// </summary>
    public DeliveryItem? Finished(string connectionId)
    {
        lock (_lock)
        {
            var recipient = _recipients[connectionId];
            if (recipient.Waiting is { Count: > 0 } waiting)
            {
                var next = waiting.Dequeue();
                Unpark(next);
                return next;
            }
            recipient.InFlight = false;
            if (recipient.InStreams == 0) _recipients.Remove(connectionId);
            return null;
        }
    }

    /// <summary>
    /// Ends a hold on <paramref name="connectionId"/>: a post whose items were kept back (not <see cref="Finished"/>, so
    /// that the recipient stayed busy and later items parked behind them). <paramref name="held"/> are posted again,
    /// first, in their order; when it is empty the next parked item goes on, or the recipient is free.
    /// </summary>
    public void Resume(string connectionId, IReadOnlyList<DeliveryItem> held)
    {
        lock (_lock)
        {
            var recipient = _recipients[connectionId];
            DeliveryItem next;
            if (held.Count > 0)
            {
                next = held[0];
                var waiting = new Queue<DeliveryItem>(held.Count - 1 + (recipient.Waiting?.Count ?? 0));
                for (var i = 1; i < held.Count; i++)
                {
                    waiting.Enqueue(held[i]);
                    _count++;
                    _parked[held[i].Stream] = _parked.GetValueOrDefault(held[i].Stream) + 1;
                }
                if (recipient.Waiting is { } parked) foreach (var item in parked) waiting.Enqueue(item);
                recipient.Waiting = waiting;
            }
            else if (recipient.Waiting is { Count: > 0 } waiting)
            {
                next = waiting.Dequeue();
                Unpark(next);
            }
            else
            {
                recipient.InFlight = false;
                if (recipient.InStreams == 0) _recipients.Remove(connectionId);
                return;
            }
            _resumed.Enqueue(next);
            _count++;
        }
        _queued.Release();
    }

    public void Dispose() => _queued.Dispose();

    /// <summary>Parks an item that is counted in <see cref="Count"/> already (added with its chunk, or not yet taken).</summary>
    private void Park(Recipient recipient, DeliveryItem item)
    {
        (recipient.Waiting ??= new()).Enqueue(item);
        _parked[item.Stream] = _parked.GetValueOrDefault(item.Stream) + 1;
    }

    /// <summary>Items parked while it was busy are counted already, as every item parked beside it later is.</summary>
    private static void SwitchToBatches(Recipient recipient) => recipient.Batch = true;

    private void Unpark(DeliveryItem item)
    {
        _count--;
        var left = _parked[item.Stream] - 1;
        if (left == 0) _parked.Remove(item.Stream);
        else _parked[item.Stream] = left;
    }

    private sealed class Recipient
    {
        public bool Batch { get; set; }
        public int InStreams { get; set; }
        public bool InFlight { get; set; }
        public Queue<DeliveryItem>? Waiting { get; set; }
    }
}

using System.Collections.Frozen;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Delivery;

/// <summary>
/// Which recipients take batches, as this silo last read it from the batch registry: one set lookup per recipient on
/// the post path; a bucket is read again off that path when a post touches it and its copy is older than
/// <see cref="DeliveryOptions.BatchRegistryRefresh"/>. A connection this silo does not know yet gets one envelope per post, which every connection
/// accepts. Why: docs/decisions/batched-delivery.md.
/// </summary>
internal sealed partial class BatchRecipientCache(IBatchRecipients? source, TimeSpan refresh, TimeProvider time, ILogger logger) : IDisposable
{
    private readonly Bucket?[] _buckets = new Bucket?[BatchRegistry.Buckets];
    private readonly int[] _reading = new int[BatchRegistry.Buckets];
    private readonly ConcurrentQueue<int> _toRead = new();
    private readonly SemaphoreSlim _signal = new(0);

    /// <summary>Whether this silo has read <paramref name="connectionId"/>'s bucket since <paramref name="since"/> (a timestamp).</summary>
    public bool HasReadSince(string connectionId, long since) => Volatile.Read(ref _buckets[BatchRegistry.BucketOf(connectionId)]) is { } bucket && bucket.ReadAt >= since;

    /// <summary>Whether the connection takes batches, as far as this silo knows; a stale bucket is read again meanwhile.</summary>
    public bool TakesBatches(string connectionId)
    {
        if (source is null) return false;
        var index = BatchRegistry.BucketOf(connectionId);
        var bucket = Volatile.Read(ref _buckets[index]);
        if ((bucket is null || time.GetElapsedTime(bucket.ReadAt) >= refresh) && Interlocked.Exchange(ref _reading[index], 1) == 0)
        {
            _toRead.Enqueue(index);
            _signal.Release();
        }
        return bucket is not null && bucket.Connections.Contains(connectionId);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (source is null) return;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (_toRead.TryDequeue(out var index)) await ReadAsync(index).ConfigureAwait(false);
        }
    }

    public void Dispose() => _signal.Dispose();

    private async Task ReadAsync(int index)
    {
        var started = time.GetTimestamp();
        try
        {
            var connections = await source!.InBucketAsync(index).ConfigureAwait(false);
            Volatile.Write(ref _buckets[index], new Bucket(connections.ToFrozenSet(StringComparer.Ordinal), started));
        }
        catch (Exception e)
        {
            // Read again at the next post that touches the bucket.
            LogReadFailed(e, index);
        }
        finally
        {
            Volatile.Write(ref _reading[index], 0);
        }
    }

    private sealed record Bucket(FrozenSet<string> Connections, long ReadAt);

    [LoggerMessage(EventId = 2020, EventName = "BatchRegistryReadFailed", Level = LogLevel.Warning,
        Message = "Could not read bucket {Bucket} of the batch registry; its connections get one envelope per post meanwhile")]
    private partial void LogReadFailed(Exception e, int bucket);
}

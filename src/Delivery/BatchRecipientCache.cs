using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tether.Grains;

namespace Tether.Delivery;

/// <summary>
/// Which recipients take batches, as this silo has learnt it: a dictionary read per recipient on the post path, filled
/// off that path by asking each connection once (a connection id is never reused, so the answer never goes stale;
/// it is forgotten after API Gateway's two-hour connection lifetime). Until the answer is in, the recipient gets one
/// envelope per post, which every connection accepts. Why: docs/decisions/batched-delivery.md.
/// </summary>
internal sealed partial class BatchRecipientCache(IBatchRecipients? source, TimeProvider time, ILogger logger) : IDisposable
{
    internal static readonly TimeSpan Memory = TimeSpan.FromHours(2);
    private const int LookupsAtOnce = 256;

    private readonly ConcurrentDictionary<string, (bool Batch, long Expires)> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _asking = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _toAsk = new();
    private readonly SemaphoreSlim _signal = new(0);

    /// <summary>The answer if this silo has it (null: not yet).</summary>
    public bool? Known(string connectionId) => _known.TryGetValue(connectionId, out var known) ? known.Batch : null;

    /// <summary>The answer if known; otherwise false, and the connection is asked.</summary>
    public bool TakesBatches(string connectionId)
    {
        if (source is null) return false;
        if (_known.TryGetValue(connectionId, out var known)) return known.Batch;
        if (_asking.TryAdd(connectionId, 0))
        {
            _toAsk.Enqueue(connectionId);
            _signal.Release();
        }
        return false;
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
            var batch = new List<string>();
            while (batch.Count < LookupsAtOnce && _toAsk.TryDequeue(out var id)) batch.Add(id);
            await Task.WhenAll(batch.Select(AskAsync)).ConfigureAwait(false);
        }
    }

    public void Prune()
    {
        var now = time.GetTimestamp();
        foreach (var (id, known) in _known)
        {
            if (known.Expires < now) _known.TryRemove(id, out _);
        }
    }

    public void Dispose() => _signal.Dispose();

    private async Task AskAsync(string connectionId)
    {
        try
        {
            var batch = await source!.TakesBatchesAsync(connectionId).ConfigureAwait(false);
            _known[connectionId] = (batch, time.GetTimestamp() + (long)(Memory.TotalSeconds * time.TimestampFrequency));
        }
        catch (Exception e)
        {
            // Asked again the next time a post is queued for it.
            LogLookupFailed(e, connectionId);
        }
        finally
        {
            _asking.TryRemove(connectionId, out _);
        }
    }

    [LoggerMessage(EventId = 2020, EventName = "BatchLookupFailed", Level = LogLevel.Debug,
        Message = "Could not learn whether {ConnectionId} takes batches; it gets one envelope per post meanwhile")]
    private partial void LogLookupFailed(Exception e, string connectionId);
}

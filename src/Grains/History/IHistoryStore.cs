using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Where a stream's (a room's or a user's) recent messages and accepted <c>requestId</c>s live: memory in the embedded
/// shape, Redis in the cluster shape. One stream is written by one grain activation at a time.
/// </summary>
public interface IHistoryStore
{
    /// <summary>
    /// The stream's epoch and latest seq, as stored. A stream with nothing stored (never used, expired, lost) gets a
    /// new epoch at seq 0: whatever came before can no longer be promised.
    /// </summary>
    Task<StreamHead> OpenAsync(string stream);

    /// <summary>
    /// Stores consecutive entries of <paramref name="epoch"/> in one round trip, trims the stream to the configured size,
    /// and refreshes its expiry. Completes once stored.
    /// </summary>
    Task AppendAsync(string stream, string epoch, IReadOnlyList<HistoryEntry> entries);

    /// <summary>
    /// The first <paramref name="limit"/> stored entries with <paramref name="after"/> &lt; seq ≤ <paramref name="upTo"/>,
    /// ascending, leaving out those older than the TTL.
    /// </summary>
    Task<IReadOnlyList<HistoryEntry>> ReadAsync(string stream, long after, long upTo, int limit);

    /// <summary>The receipt of the message the stream accepted with <paramref name="requestId"/> within the request-id window.</summary>
    Task<PublishReceipt?> FindRequestAsync(string stream, string requestId);
}

/// <summary>A stream's epoch and latest seq.</summary>
public readonly record struct StreamHead(string Epoch, long Seq);

/// <summary>One stored message: its envelope as posted (seq and epoch included).</summary>
public sealed record HistoryEntry(long Seq, string MessageId, byte[] Payload, DateTimeOffset At, string? RequestId, int Recipients);

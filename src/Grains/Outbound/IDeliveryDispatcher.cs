using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// The silo-local owner of outbound I/O. Grains hand it recipients and return at once; it posts with bounded
/// concurrency, keeps posts to one recipient from one stream in order, and lets streams take turns.
/// </summary>
public interface IDeliveryDispatcher
{
    /// <summary>
    /// Queues <paramref name="message"/> for each recipient. <paramref name="stream"/> names the source (a room, a user,
    /// direct messages) for ordering and fairness; <paramref name="room"/> or <paramref name="user"/> (the user whose
    /// stream this is) is reported with a 410 so the room or user heals.
    /// A tracked message is waited for by <paramref name="trackingKey"/> (default: the message id); room shards use
    /// their own keys because several shards of one room may share a silo. The result says when every post queued
    /// here has ended, which a room or shard that hands members to another silo waits for (see <c>RoomShardGrain</c>).
    /// </summary>
    DispatchResult Dispatch(OutboundMessage message, string stream, string? room, IEnumerable<string> recipients, bool track, string? trackingKey = null, string? user = null);

    /// <summary>
    /// Completes when <paramref name="stream"/> may add posts: at once unless this silo's queue is over its mark and
    /// the stream already has posts waiting, then when the queue has drained below the mark. False: it stayed over
    /// the mark for the admission timeout, and the sender must add nothing (it is refused, so memory stays bounded).
    /// </summary>
    ValueTask<bool> AdmitAsync(string stream);

    /// <summary>Waits for a tracked message's deliveries; the summary says whether they all finished in time.</summary>
    Task<DeliverySummary> WaitAsync(string trackingKey, TimeSpan timeout);

    /// <summary>
    /// Whether a summary of <paramref name="trackingKey"/> is kept here (its posts go on, or they ended and nobody has
    /// read the summary yet): a shard that moved silo could no longer answer for it. Without one, nothing is tracked.
    /// </summary>
    bool IsTracking(string trackingKey) => false;
}

/// <summary>How many posts a dispatch queued, and a task that completes when every one of them has ended (delivered, gone or failed).</summary>
public readonly record struct DispatchResult(int Recipients, Task Ended);

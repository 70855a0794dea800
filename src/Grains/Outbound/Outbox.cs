using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// One sender's way to its silo's dispatcher: a room (or its shards), a user, or direct messages. It names the
/// sender's stream, admits and queues its posts, and keeps those not yet ended for whoever must wait for them.
/// </summary>
internal sealed class Outbox
{
    // Direct messages to one connection share a stream, so they keep their order.
    internal const string DirectStream = "direct";

    private readonly IDeliveryDispatcher _dispatcher;
    private readonly string _stream;
    private readonly string? _room;
    private readonly string? _user;
    private QueuedPosts? _queued;

    private Outbox(IDeliveryDispatcher dispatcher, string stream, string? room, bool keepsPosts, string? user = null)
    {
        _dispatcher = dispatcher;
        _stream = stream;
        _room = room;
        _user = user;
        KeepsPosts = keepsPosts;
    }

    /// <summary>A room's posts, or a shard's of that room: kept, since members handed over wait for them.</summary>
    public static Outbox ForRoom(IDeliveryDispatcher dispatcher, string room) => new(dispatcher, "room:" + room, room, keepsPosts: true);

    /// <summary>Direct messages (to a connection or a user's connections).</summary>
    public static Outbox Direct(IDeliveryDispatcher dispatcher) => new(dispatcher, DirectStream, room: null, keepsPosts: false);

    /// <summary>A user's messages: direct messages whose 410s are reported with the user, so that the user heals.</summary>
    public static Outbox ForUser(IDeliveryDispatcher dispatcher, string user) => new(dispatcher, DirectStream, room: null, keepsPosts: false, user);

    /// <summary>Whether posts are kept until they end (see <see cref="AllEnded"/>); off where nobody waits for them.</summary>
    public bool KeepsPosts { get; set; }

    /// <summary>
    /// Completes when this sender may add posts (see <see cref="IDeliveryDispatcher.AdmitAsync"/>), or at the current
    /// call's deadline (<see cref="CallDeadline"/>): then its posts are queued anyway, as after
    /// <c>Delivery__AdmissionTimeout</c>, so that its caller hears "sent" rather than a timeout for a message that goes out.
    /// </summary>
    public ValueTask AdmitAsync()
    {
        var admission = _dispatcher.AdmitAsync(_stream);
        if (admission.IsCompleted || CallDeadline.Remaining(TimeProvider.System) is not { } left) return admission;
        return WithinAsync(admission.AsTask(), left);
    }

    private static async ValueTask WithinAsync(Task admission, TimeSpan left)
    {
        if (left <= TimeSpan.Zero) return;
        try
        {
            await admission.WaitAsync(left);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>Completes when this sender's presence notices may add posts: their lane is admitted like any stream.</summary>
    public ValueTask AdmitPresenceAsync() => _dispatcher.AdmitAsync(DeliveryLanes.Presence(_stream));

    /// <summary>Queues the message for each recipient and returns their number.</summary>
    public int Post(OutboundMessage message, IEnumerable<string> recipients, bool track = false, string? trackingKey = null)
    {
        var dispatched = _dispatcher.Dispatch(message, _stream, _room, recipients, track, trackingKey, _user);
        if (KeepsPosts) (_queued ??= new()).Add(dispatched.Ended);
        return dispatched.Recipients;
    }

    /// <summary>Waits for admission, then posts (see <see cref="Post"/>).</summary>
    public async ValueTask<int> AdmitAndPostAsync(OutboundMessage message, IEnumerable<string> recipients)
    {
        await AdmitAsync();
        return Post(message, recipients);
    }

    /// <summary>Completes when every kept post queued before this call has ended.</summary>
    public Task AllEnded() => _queued?.AllEnded() ?? Task.CompletedTask;

    /// <summary>Waits for a tracked message's deliveries (see <see cref="IDeliveryDispatcher.WaitAsync"/>).</summary>
    public Task<DeliverySummary> WaitAsync(string trackingKey, TimeSpan timeout) => _dispatcher.WaitAsync(trackingKey, timeout);

    /// <summary>Whether a tracked message's summary is kept on this silo (see <see cref="IDeliveryDispatcher.IsTracking"/>).</summary>
    public bool IsTracking(string trackingKey) => _dispatcher.IsTracking(trackingKey);
}

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
    public bool KeepsPosts { get; }

    /// <summary>
    /// Completes when this sender may add posts (see <see cref="IDeliveryDispatcher.AdmitAsync"/>). Throws
    /// <see cref="OverloadedException"/> when the dispatcher refuses (its queue stayed over its mark for
    /// <c>Delivery__AdmissionTimeout</c>) or the current call's deadline (<see cref="CallDeadline"/>) comes first: the
    /// sender then does nothing, and its caller hears 503 <c>overloaded</c> for a message that never goes out.
    /// </summary>
    public async ValueTask AdmitAsync()
    {
        bool admitted;
        if (CallDeadline.Remaining(TimeProvider.System) is not { } left)
        {
            admitted = await _dispatcher.AdmitAsync(_stream);
        }
        else
        {
            try
            {
                admitted = left > TimeSpan.Zero && await _dispatcher.AdmitAsync(_stream).AsTask().WaitAsync(left);
            }
            catch (TimeoutException)
            {
                admitted = false;
            }
        }
        if (!admitted) throw new OverloadedException();
    }

    /// <summary>
    /// Whether this sender's presence notices may add posts: their lane is admitted like any stream. False: refused,
    /// the notices are dropped (presence is best effort).
    /// </summary>
    public ValueTask<bool> AdmitPresenceAsync() => _dispatcher.AdmitAsync(DeliveryLanes.Presence(_stream));

    /// <summary>Queues the message for each recipient and returns their number.</summary>
    public int Post(OutboundMessage message, IEnumerable<string> recipients, bool track = false, string? trackingKey = null)
    {
        var dispatched = _dispatcher.Dispatch(message, _stream, _room, recipients, track, trackingKey, _user);
        if (KeepsPosts) (_queued ??= new()).Add(dispatched.Ended);
        return dispatched.Recipients;
    }

    /// <summary>Waits for admission, then posts (see <see cref="Post"/>); refused, it posts nothing and throws (see <see cref="AdmitAsync"/>).</summary>
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

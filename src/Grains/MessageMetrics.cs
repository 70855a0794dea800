using System.Diagnostics.Metrics;

namespace Tether.Grains;

/// <summary>
/// Tether's connection and message instruments (meter <see cref="MeterName"/>; the dispatcher adds its own to the
/// same meter). Labels are small fixed sets, never connection ids, rooms or users: those would make one time series
/// per connection.
/// </summary>
public sealed class MessageMetrics
{
    public const string MeterName = "Tether";

    private readonly Counter<long> _connected;
    private readonly Counter<long> _disconnected;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _messagesIn;
    private readonly Counter<long> _presenceDropped;

    public MessageMetrics(IMeterFactory meterFactory)
    {
        // One meter per service provider (IMeterFactory), so several hosts in one process (tests) stay apart.
        Meter = meterFactory.Create(MeterName);
        _active = Meter.CreateUpDownCounter<long>("tether.connections.active", "{connection}",
            "Connections registered on this silo's grains (connects minus disconnects; sum over silos for the cluster).");
        _connected = Meter.CreateCounter<long>("tether.connections.connected", "{connection}", "Connections accepted by $connect.");
        _disconnected = Meter.CreateCounter<long>("tether.connections.disconnected", "{connection}",
            "Connections removed, by reason: disconnect ($disconnect), closed (DELETE /api/connections/{id}), gone (410 from the Management API), swept.");
        _messagesIn = Meter.CreateCounter<long>("tether.messages.received", "{message}",
            "Messages accepted for delivery, by source (client, api) and target (room, connection, user).");
        _presenceDropped = Meter.CreateCounter<long>("tether.presence.dropped", "{notice}",
            "Presence notices dropped over a room's Rooms__MaxPresencePostsPerSecond (or past a window's bound).");
    }

    public Meter Meter { get; }

    public void Connected()
    {
        _connected.Add(1);
        _active.Add(1);
    }

    /// <summary><paramref name="reason"/> is <c>disconnect</c>, <c>gone</c>, <c>swept</c> or <c>closed</c>.</summary>
    public void Disconnected(string reason)
    {
        _disconnected.Add(1, new KeyValuePair<string, object?>("reason", reason));
        _active.Add(-1);
    }

    /// <summary><paramref name="source"/>: <c>client</c> or <c>api</c>; <paramref name="target"/>: <c>room</c>, <c>connection</c> or <c>user</c>.</summary>
    public void MessageReceived(string source, string target) =>
        _messagesIn.Add(1, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("target", target));

    /// <summary>Presence notices a room dropped over its cap (see <c>RoomPresence</c>).</summary>
    public void PresenceDropped(int count) => _presenceDropped.Add(count);
}

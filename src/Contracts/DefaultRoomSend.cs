namespace Tether.Contracts;

/// <summary>Who may send to the default room (<c>Rooms__DefaultRoomSend</c>).</summary>
public enum DefaultRoomSend
{
    /// <summary>Every connection (it is a member): the seed's behaviour, where every message reaches everyone.</summary>
    Members,

    /// <summary>Only the admin REST API (<c>POST /api/rooms/{room}/messages</c>); clients get <c>403 default_room_send_forbidden</c>.</summary>
    AdminOnly,
}

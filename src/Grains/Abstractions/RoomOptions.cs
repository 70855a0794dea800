namespace Tether.Abstractions;

/// <summary>Room behaviour (configuration section <c>Rooms</c>).</summary>
public sealed class RoomOptions
{
    public const string Section = "Rooms";

    /// <summary>The room every connection joins at <c>$connect</c>; empty turns it off.</summary>
    public string? Default { get; set; } = "lobby";

    /// <summary>Whether joins and leaves of named rooms are announced to the other members.</summary>
    public bool PresenceNotices { get; set; } = true;

    /// <summary>Rooms larger than this send no presence notices (each notice costs one post per member).</summary>
    public int PresenceMaxMembers { get; set; } = 1000;

    public string? DefaultRoom => string.IsNullOrWhiteSpace(Default) ? null : Default;
}

/// <summary>Connection behaviour (configuration section <c>Connections</c>).</summary>
public sealed class ConnectionOptions
{
    public const string Section = "Connections";

    /// <summary>
    /// After <c>/connect</c> accepts a connection, API Gateway still answers 410 to posts until it has finished the
    /// <c>$connect</c> (up to its 29 s integration timeout). A 410 inside this window is checked again after it ends.
    /// </summary>
    public TimeSpan ConnectGracePeriod { get; set; } = TimeSpan.FromSeconds(30);
}

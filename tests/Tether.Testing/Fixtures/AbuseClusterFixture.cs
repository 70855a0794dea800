namespace Tether.Testing;

/// <summary>
/// A cluster for the abuse limits (issue 18 points 4 and 5): presence in rooms of up to 100 members capped at 100
/// posts per second over windows of 2 s (long, so that what falls in one window does not depend on the machine's
/// load), a default room only the server sends to, and a dispatcher with one worker that holds a sender once two posts
/// wait (for up to 20 s, so that only a call's deadline ends the wait sooner).
/// </summary>
public sealed class AbuseClusterFixture : ClusterFixture
{
    public const int PresenceCap = 100;

    public static readonly TimeSpan AdmissionTimeout = TimeSpan.FromSeconds(20);

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Rooms:PresenceMaxMembers", "100"),
        new("Rooms:MaxPresencePostsPerSecond", PresenceCap.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Rooms:PresenceWindow", "00:00:02"),
        new("Rooms:DefaultRoomSend", "AdminOnly"),
        new("Delivery:MaxConcurrency", "1"),
        new("Delivery:MaxQueued", "2"),
        new("Delivery:AdmissionTimeout", AdmissionTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture)),
    ];
}

namespace Tether.Testing;

/// <summary>Small limits, so each one can be hit in a few requests. No default room, so rooms fill only when a test fills them.</summary>
public sealed class LimitsFixture : SecurityFixture
{
    protected override IEnumerable<KeyValuePair<string, string>> Settings()
    {
        yield return new("Integration:Secrets:0", Secret);
        yield return new("Admin:ApiKeys:0", ApiKey);
        yield return new("Integration:MaxBodyBytes", "4096");
        yield return new("Rooms:Default", "");
        yield return new("Limits:MaxRoomsPerConnection", "2");
        yield return new("Limits:MaxMembersPerRoom", "2");
        yield return new("Limits:MessagesPerSecond", "0.001");
        yield return new("Limits:MessageBurst", "5");
        yield return new("Limits:MaxMessageBytes", "1024");
        yield return new("Limits:MaxRoomNameLength", "16");
        yield return new("Limits:RoomNamePattern", "^[a-z0-9-]+$");
    }
}

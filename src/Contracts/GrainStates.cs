namespace Tether.Contracts;

[GenerateSerializer, Alias("tether.ConnectionState")]
public sealed class ConnectionState
{
    [Id(0)] public bool Connected { get; set; }
    [Id(1)] public string? User { get; set; }
    /// <summary>Rooms this connection is in. Written before a room is joined and after it is left, so it always covers the rooms' member lists.</summary>
    [Id(2)] public HashSet<string> Rooms { get; set; } = new(StringComparer.Ordinal);
    [Id(3)] public DateTimeOffset ConnectedAt { get; set; }
    [Id(4)] public string? SourceIp { get; set; }
    [Id(5)] public string? UserAgent { get; set; }
    /// <summary>When our <c>/connect</c> accepted it (not API Gateway's <c>connectedAt</c>).</summary>
    [Id(6)] public DateTimeOffset AcceptedAt { get; set; }
    /// <summary>Room patterns from the user's token (null: no restriction); messages after <c>$connect</c> carry no token.</summary>
    [Id(7)] public List<string>? AllowedRooms { get; set; }
    /// <summary>Asked for batched delivery at <c>$connect</c> (<c>batch=1</c>).</summary>
    [Id(8)] public bool Batch { get; set; }
    /// <summary>What the application's connect hook attached (JSON text): for its later hooks only, never for other clients.</summary>
    [Id(9)] public string? Data { get; set; }
}

[GenerateSerializer, Alias("tether.RoomState")]
public sealed class RoomState
{
    // Id 0 held a small room's members, now in its member set (IMemberSets): not to be reused.
    /// <summary>A sharded room's shards: index → depth (see <see cref="RoomShards"/>). Empty for a small room.</summary>
    [Id(1)] public Dictionary<int, int> Shards { get; set; } = [];
}

[GenerateSerializer, Alias("tether.UserState")]
public sealed class UserState
{
    [Id(0)] public HashSet<string> Connections { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Alias("tether.BatchRegistryState")]
public sealed class BatchRegistryState
{
    [Id(0)] public HashSet<string> Connections { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Alias("tether.RoomShardState")]
public sealed class RoomShardState
{
    // Id 0 held the shard's members, now in its member set (IMemberSets): not to be reused.
    /// <summary>How many low hash bits this shard's index covers (see <see cref="RoomShards"/>).</summary>
    [Id(1)] public int Depth { get; set; }
}

namespace Tether.Contracts;

/// <summary>
/// The reply to the sender of a client message (see <c>docs/protocol.md</c>). <see cref="Status"/> is the HTTP status
/// of the integration response.
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.ClientReply")]
public abstract record ClientReply([property: Id(0)] int Status);

/// <summary>
/// <c>joined</c>: the connection is in <paramref name="Room"/>, which now has <paramref name="Members"/> members and is at
/// <paramref name="Epoch"/>/<paramref name="Seq"/>. <paramref name="Recovered"/> and <paramref name="Replayed"/> answer a
/// join with <c>since</c> (null otherwise).
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.Joined")]
public sealed record Joined(
    [property: Id(0)] string Room,
    [property: Id(1)] int Members,
    [property: Id(2)] string? Epoch = null,
    [property: Id(3)] long Seq = 0,
    [property: Id(4)] bool? Recovered = null,
    [property: Id(5)] int? Replayed = null) : ClientReply(200);

/// <summary><c>left</c>.</summary>
[GenerateSerializer, Immutable, Alias("tether.Left")]
public sealed record Left([property: Id(0)] string Room) : ClientReply(200);

/// <summary>
/// <c>sent</c>: to a room (<paramref name="Room"/> set), or directly to a connection or a user (<paramref name="Room"/>
/// null, <paramref name="ConnectionId"/> or <paramref name="User"/> set).
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.Sent")]
public sealed record Sent(
    [property: Id(0)] string? Room,
    [property: Id(1)] string MessageId,
    [property: Id(2)] int Recipients,
    [property: Id(3)] string? ConnectionId = null,
    [property: Id(4)] string? User = null,
    [property: Id(5)] long? Seq = null,
    [property: Id(6)] string? Epoch = null) : ClientReply(200);

/// <summary><c>resumed</c>: what happened to each room named (and to the user's stream when it was named).</summary>
[GenerateSerializer, Immutable, Alias("tether.Resumed")]
public sealed record Resumed(
    [property: Id(0)] IReadOnlyDictionary<string, StreamResume> Rooms,
    [property: Id(1)] StreamResume? User) : ClientReply(200);

/// <summary><c>history</c>: envelopes in ascending seq; <paramref name="More"/> when older ones were left out.</summary>
[GenerateSerializer, Immutable, Alias("tether.HistoryReply")]
public sealed record HistoryReply(
    [property: Id(0)] string Room,
    [property: Id(1)] string Epoch,
    [property: Id(2)] IReadOnlyList<byte[]> Messages,
    [property: Id(3)] bool More) : ClientReply(200);

/// <summary><c>pong</c>, with the server's time.</summary>
[GenerateSerializer, Immutable, Alias("tether.Pong")]
public sealed record Pong([property: Id(0)] DateTimeOffset Time) : ClientReply(200);

/// <summary><c>error</c>, with a stable <paramref name="Code"/> and a message for people.</summary>
[GenerateSerializer, Immutable, Alias("tether.ErrorReply")]
public sealed record ErrorReply(
    int Status,
    [property: Id(0)] string Code,
    [property: Id(1)] string Message) : ClientReply(Status);

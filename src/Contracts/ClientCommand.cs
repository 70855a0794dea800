namespace Tether.Contracts;

/// <summary>A client message, already parsed and validated by the API (see <c>docs/protocol.md</c>).</summary>
[GenerateSerializer, Immutable, Alias("tether.ClientCommand")]
public abstract record ClientCommand
{
    /// <summary>The client's <c>requestId</c>: echoed in the reply, and makes a publish idempotent (contract §7).</summary>
    [Id(0)] public string? RequestId { get; init; }
}

/// <summary><c>joinroom</c>; a null room means the default room. <paramref name="Since"/> asks for the messages after it.</summary>
[GenerateSerializer, Immutable, Alias("tether.JoinRoom")]
public sealed record JoinRoom([property: Id(0)] string? Room, [property: Id(1)] StreamPosition? Since = null) : ClientCommand;

[GenerateSerializer, Immutable, Alias("tether.LeaveRoom")]
public sealed record LeaveRoom([property: Id(0)] string Room) : ClientCommand;

/// <summary>
/// <c>sendmessage</c>, or any other message with a <c>message</c> field (a null room means the default room).
/// <paramref name="MessageJson"/> is the client's <c>message</c> value as JSON text, passed on unchanged.
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.SendToRoom")]
public sealed record SendToRoom(
    [property: Id(0)] string? Room,
    [property: Id(1)] string MessageJson,
    [property: Id(2)] bool Echo) : ClientCommand;

/// <summary><c>sendto</c> a connection or a user (exactly one of the two is set).</summary>
[GenerateSerializer, Immutable, Alias("tether.SendDirect")]
public sealed record SendDirect(
    [property: Id(0)] string? ConnectionId,
    [property: Id(1)] string? User,
    [property: Id(2)] string MessageJson) : ClientCommand;

/// <summary><c>resume</c>: joins each room from its position, and catches up the user's stream (contract §7).</summary>
[GenerateSerializer, Immutable, Alias("tether.ResumeStreams")]
public sealed record ResumeStreams(
    [property: Id(0)] IReadOnlyDictionary<string, StreamPosition> Rooms,
    [property: Id(1)] StreamPosition? User) : ClientCommand;

/// <summary><c>history</c>: up to <paramref name="Limit"/> messages of a room before seq <paramref name="Before"/> (null: the latest).</summary>
[GenerateSerializer, Immutable, Alias("tether.HistoryQuery")]
public sealed record HistoryQuery(
    [property: Id(0)] string Room,
    [property: Id(1)] int Limit,
    [property: Id(2)] long? Before) : ClientCommand
{
    public const int DefaultLimit = 50;

    public const int MaxLimit = 100;
}

/// <summary><c>ping</c>: answered with <c>pong</c>, nothing else happens (contract §8).</summary>
[GenerateSerializer, Immutable, Alias("tether.Ping")]
public sealed record Ping : ClientCommand;

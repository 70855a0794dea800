namespace Tether.Contracts;

/// <summary>
/// What API Gateway's <c>$connect</c> request template told us about a new connection. <paramref name="AllowedRooms"/>
/// are the room patterns from the user's token (null: no restriction); they are kept with the connection because
/// later messages carry no token.
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.ConnectRequest")]
public sealed record ConnectRequest(
    [property: Id(0)] string? User,
    [property: Id(1)] IReadOnlyList<string> Rooms,
    [property: Id(2)] DateTimeOffset ConnectedAt,
    [property: Id(3)] string? SourceIp,
    [property: Id(4)] string? UserAgent,
    [property: Id(5)] string? RequestId,
    [property: Id(6)] IReadOnlyList<string>? AllowedRooms = null);

[GenerateSerializer, Immutable, Alias("tether.ConnectResult")]
public sealed record ConnectResult(
    [property: Id(0)] bool AlreadyConnected,
    [property: Id(1)] IReadOnlyList<string> Rooms);

/// <summary>What we know about a connection.</summary>
[GenerateSerializer, Immutable, Alias("tether.ConnectionSnapshot")]
public sealed record ConnectionSnapshot(
    [property: Id(0)] string ConnectionId,
    [property: Id(1)] string? User,
    [property: Id(2)] IReadOnlyList<string> Rooms,
    [property: Id(3)] DateTimeOffset ConnectedAt,
    [property: Id(4)] string? SourceIp,
    [property: Id(5)] string? UserAgent);

/// <summary>
/// A message ready to post: the envelope is serialized once, and its SHA-256 (hex) is computed once, because
/// every recipient gets the same bytes and SigV4 signs the same payload hash for each of them.
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.OutboundMessage")]
public sealed record OutboundMessage(
    [property: Id(0)] string Id,
    [property: Id(1)] byte[] Payload,
    [property: Id(2)] string PayloadSha256);

/// <summary>
/// A message accepted: its id, how many recipients it was queued for, and its place in the stream (null when the
/// stream has none). A repeated <c>requestId</c> gets the first acceptance's receipt again.
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.PublishReceipt")]
public sealed record PublishReceipt(
    [property: Id(0)] string MessageId,
    [property: Id(1)] int Recipients,
    [property: Id(2)] long? Seq = null,
    [property: Id(3)] string? Epoch = null);

/// <summary>How the deliveries of one message ended.</summary>
[GenerateSerializer, Immutable, Alias("tether.DeliverySummary")]
public sealed record DeliverySummary(
    [property: Id(0)] string MessageId,
    [property: Id(1)] int Recipients,
    [property: Id(2)] int Delivered,
    [property: Id(3)] int Gone,
    [property: Id(4)] int Failed,
    [property: Id(5)] bool Complete)
{
    /// <summary>
    /// The deliveries of both parts. A part without recipients (nothing was tracked there) leaves the sum as complete
    /// as it was.
    /// </summary>
    public DeliverySummary Plus(DeliverySummary other) => this with
    {
        Recipients = Recipients + other.Recipients,
        Delivered = Delivered + other.Delivered,
        Gone = Gone + other.Gone,
        Failed = Failed + other.Failed,
        Complete = Complete && (other.Complete || other.Recipients == 0),
    };

    /// <summary>The sum of <paramref name="parts"/> (see <see cref="Plus"/>); complete when there are none.</summary>
    public static DeliverySummary Sum(string messageId, IEnumerable<DeliverySummary> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var sum = new DeliverySummary(messageId, 0, 0, 0, 0, Complete: true);
        foreach (var part in parts) sum = sum.Plus(part);
        return sum;
    }
}

[GenerateSerializer, Immutable, Alias("tether.MemberPage")]
public sealed record MemberPage(
    [property: Id(0)] int Total,
    [property: Id(1)] IReadOnlyList<string> Members,
    [property: Id(2)] string? Next);

/// <summary>How a DeleteConnection ended: <paramref name="Outcome"/> names the Management API outcome.</summary>
[GenerateSerializer, Immutable, Alias("tether.CloseResult")]
public sealed record CloseResult(
    [property: Id(0)] bool Closed,
    [property: Id(1)] string Outcome,
    [property: Id(2)] int StatusCode);

/// <summary>
/// One stream's answer to a <c>since</c> position (or, with <paramref name="Error"/> set, why the room was refused).
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.StreamResume")]
public sealed record StreamResume(
    [property: Id(0)] bool Recovered,
    [property: Id(1)] int Replayed,
    [property: Id(2)] string Epoch,
    [property: Id(3)] long Seq,
    [property: Id(4)] string? Error = null)
{
    public static StreamResume Refused(string code) => new(false, 0, "", 0, code);
}

/// <summary>
/// What a join did: the member count (or <see cref="IRoomGrain.Full"/>), the room's position when it took effect, and
/// for a join with <c>since</c> whether it was recovered and how many messages were replayed.
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.RoomJoin")]
public sealed record RoomJoin(
    [property: Id(0)] int Members,
    [property: Id(1)] string Epoch,
    [property: Id(2)] long Seq,
    [property: Id(3)] bool? Recovered,
    [property: Id(4)] int? Replayed);

/// <summary>A page of a stream's history: envelopes in ascending seq, and whether there are more beyond it.</summary>
[GenerateSerializer, Immutable, Alias("tether.HistoryPage")]
public sealed record HistoryPage(
    [property: Id(0)] string Epoch,
    [property: Id(1)] long Seq,
    [property: Id(2)] IReadOnlyList<byte[]> Messages,
    [property: Id(3)] bool More);

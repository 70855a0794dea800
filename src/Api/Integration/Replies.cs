using System.Globalization;
using System.Text.Json.Nodes;
using Tether.Contracts;

namespace Tether.Api.Integration;

/// <summary>Renders replies and errors as the integration's JSON (see <c>docs/protocol.md</c>).</summary>
internal static class Replies
{
    /// <summary>Seconds a caller refused as <c>overloaded</c> is told to wait: a 429 storm's Retry-After is about as long.</summary>
    public const string OverloadedRetryAfter = "1";

    public static IResult From(ClientReply reply, string? requestId = null)
    {
        // The application's rpc answer is passed on as it came.
        if (reply is RpcAnswer answer) return Results.Text(answer.Json, "application/json", System.Text.Encoding.UTF8, answer.Status);
        var json = reply switch
        {
            Joined joined => JoinedJson(joined),
            Left left => new JsonObject { ["type"] = "left", ["room"] = left.Room },
            Sent sent => SentJson(sent),
            Resumed resumed => ResumedJson(resumed),
            HistoryReply history => HistoryJson(history),
            Pong pong => new JsonObject { ["type"] = "pong", ["time"] = pong.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) },
            ErrorReply error => ErrorJson(error.Code, error.Message),
            _ => throw new ArgumentOutOfRangeException(nameof(reply), reply.GetType().Name, "Unknown reply."),
        };
        return Results.Json(WithRequestId(json, requestId), statusCode: reply.Status);
    }

    public static IResult Error(BodyError error) =>
        Results.Json(WithRequestId(ErrorJson(error.Code, error.Message), error.RequestId), statusCode: error.Status);

    /// <summary>Every reply echoes the client's <c>requestId</c> (contract §7).</summary>
    private static JsonObject WithRequestId(JsonObject json, string? requestId)
    {
        if (requestId is not null) json["requestId"] = requestId;
        return json;
    }

    private static JsonObject JoinedJson(Joined joined)
    {
        var json = new JsonObject { ["type"] = "joined", ["room"] = joined.Room, ["members"] = joined.Members, ["epoch"] = joined.Epoch, ["seq"] = joined.Seq };
        if (joined.Recovered is { } recovered) json["recovered"] = recovered;
        if (joined.Replayed is { } replayed) json["replayed"] = replayed;
        return json;
    }

    private static JsonObject ResumedJson(Resumed resumed)
    {
        var rooms = new JsonObject();
        foreach (var (room, stream) in resumed.Rooms) rooms[room] = StreamJson(stream);
        var json = new JsonObject { ["type"] = "resumed", ["rooms"] = rooms };
        if (resumed.User is { } user) json["user"] = StreamJson(user);
        return json;
    }

    private static JsonObject StreamJson(StreamResume stream) => stream.Error is { } code
        ? new JsonObject { ["error"] = code }
        : new JsonObject { ["recovered"] = stream.Recovered, ["replayed"] = stream.Replayed, ["epoch"] = stream.Epoch, ["seq"] = stream.Seq };

    private static JsonObject HistoryJson(HistoryReply history) => new()
    {
        ["type"] = "history",
        ["room"] = history.Room,
        ["epoch"] = history.Epoch,
        ["messages"] = Envelopes(history.Messages),
        ["more"] = history.More,
    };

    /// <summary>Stored envelopes as JSON values, exactly as they were posted.</summary>
    public static JsonArray Envelopes(IEnumerable<byte[]> payloads) => new([.. payloads.Select(p => JsonNode.Parse(p))]);

    public static IResult Error(int status, string code, string message) => Results.Json(ErrorJson(code, message), statusCode: status);

    private static JsonObject SentJson(Sent sent)
    {
        var json = new JsonObject { ["type"] = "sent", ["room"] = sent.Room, ["id"] = sent.MessageId };
        if (sent.ConnectionId is not null) json["connectionId"] = sent.ConnectionId;
        if (sent.User is not null) json["user"] = sent.User;
        json["recipients"] = sent.Recipients;
        if (sent.Seq is { } seq)
        {
            json["seq"] = seq;
            json["epoch"] = sent.Epoch;
        }
        return json;
    }

    private static JsonObject ErrorJson(string code, string message) =>
        new() { ["type"] = "error", ["code"] = code, ["message"] = message };
}

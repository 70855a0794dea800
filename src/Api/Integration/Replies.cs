using System.Text.Json.Nodes;
using Tether.Contracts;

namespace Tether.Api.Integration;

/// <summary>Renders replies and errors as the integration's JSON (see <c>docs/protocol.md</c>).</summary>
internal static class Replies
{
    public static IResult From(ClientReply reply)
    {
        // The application's rpc answer is passed on as it came.
        if (reply is RpcAnswer answer) return Results.Text(answer.Json, "application/json", System.Text.Encoding.UTF8, answer.Status);
        var json = reply switch
        {
            Joined joined => new JsonObject { ["type"] = "joined", ["room"] = joined.Room, ["members"] = joined.Members },
            Left left => new JsonObject { ["type"] = "left", ["room"] = left.Room },
            Sent sent => SentJson(sent),
            ErrorReply error => ErrorJson(error.Code, error.Message),
            _ => throw new ArgumentOutOfRangeException(nameof(reply), reply.GetType().Name, "Unknown reply."),
        };
        return Results.Json(json, statusCode: reply.Status);
    }

    public static IResult Error(BodyError error) => Error(error.Status, error.Code, error.Message);

    public static IResult Error(int status, string code, string message) => Results.Json(ErrorJson(code, message), statusCode: status);

    private static JsonObject SentJson(Sent sent)
    {
        var json = new JsonObject { ["type"] = "sent", ["room"] = sent.Room, ["id"] = sent.MessageId };
        if (sent.ConnectionId is not null) json["connectionId"] = sent.ConnectionId;
        if (sent.User is not null) json["user"] = sent.User;
        json["recipients"] = sent.Recipients;
        return json;
    }

    private static JsonObject ErrorJson(string code, string message) =>
        new() { ["type"] = "error", ["code"] = code, ["message"] = message };
}

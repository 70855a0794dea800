using System.Text.Json.Nodes;
using Tether.Contracts;

namespace Tether.Api.Integration;

/// <summary>Maps replies and errors to the JSON of contract §2.</summary>
internal static class Replies
{
    public static IResult From(ClientReply reply)
    {
        if (reply.Type == "error") return Error(reply.Status, reply.ErrorCode!, reply.ErrorMessage!);

        var json = new JsonObject { ["type"] = reply.Type };
        switch (reply.Type)
        {
            case "joined":
                json["room"] = reply.Room;
                json["members"] = reply.Members;
                break;
            case "left":
                json["room"] = reply.Room;
                break;
            case "sent":
                json["room"] = reply.Room;
                json["id"] = reply.MessageId;
                if (reply.ConnectionId is not null) json["connectionId"] = reply.ConnectionId;
                if (reply.User is not null) json["user"] = reply.User;
                json["recipients"] = reply.Recipients;
                break;
        }
        return Results.Json(json, statusCode: reply.Status);
    }

    public static IResult Error(BodyError error) => Error(error.Status, error.Code, error.Message);

    public static IResult Error(int status, string code, string message) =>
        Results.Json(new JsonObject { ["type"] = "error", ["code"] = code, ["message"] = message }, statusCode: status);
}

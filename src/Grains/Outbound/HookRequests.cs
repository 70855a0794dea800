using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tether.Grains;

/// <summary>The request bodies of contract §10, built in one place for the grains and the API.</summary>
public static class HookRequests
{
    /// <summary>Largest <c>data</c> the connect hook may attach, as UTF-8 JSON.</summary>
    public const int MaxDataBytes = 4 * 1024;

    public static JsonObject Join(string connectionId, string? user, string room, string? dataJson) => new()
    {
        ["connectionId"] = connectionId,
        ["user"] = user,
        ["room"] = room,
        ["data"] = Parse(dataJson),
    };

    /// <summary>
    /// A message to a room (<paramref name="room"/>) or to a connection or user (<paramref name="target"/>,
    /// <c>{"connectionId"}</c> or <c>{"user"}</c>). From <c>/api</c>, connection, user and data are null.
    /// </summary>
    public static JsonObject Publish(string? connectionId, string? user, string? room, JsonObject? target, string messageJson, string? dataJson)
    {
        var request = new JsonObject { ["connectionId"] = connectionId, ["user"] = user };
        if (room is not null) request["room"] = room;
        if (target is not null) request["target"] = target;
        request["message"] = Parse(messageJson);
        request["data"] = Parse(dataJson);
        return request;
    }

    public static JsonObject Target(string? connectionId, string? user) =>
        connectionId is not null ? new JsonObject { ["connectionId"] = connectionId } : new JsonObject { ["user"] = user };

    public static JsonObject Rpc(string connectionId, string? user, string action, string bodyJson, string? dataJson) => new()
    {
        ["connectionId"] = connectionId,
        ["user"] = user,
        ["action"] = action,
        ["body"] = Parse(bodyJson),
        ["data"] = Parse(dataJson),
    };

    public static JsonObject Disconnect(string connectionId, string? user, string reason) => new()
    {
        ["connectionId"] = connectionId,
        ["user"] = user,
        ["reason"] = reason,
    };

    /// <summary>
    /// The publish hook's answer: <c>{}</c> keeps the message, <c>{"message":…}</c> replaces it. Returns the message to
    /// send (JSON text), or null when <paramref name="answer"/> is not of that shape.
    /// </summary>
    public static string? PublishedMessage(JsonElement? answer, string original)
    {
        if (answer is not { } value) return original;
        if (value.ValueKind != JsonValueKind.Object) return null;
        return value.TryGetProperty("message", out var replacement) ? replacement.GetRawText() : original;
    }

    /// <summary>The check for a publish answer (see <see cref="PublishedMessage"/>).</summary>
    public static string? CheckPublishAnswer(JsonElement answer) =>
        answer.ValueKind == JsonValueKind.Object ? null : "the publish hook must answer a JSON object ({} or {\"message\":…}).";

    /// <summary>Any JSON is a valid rpc or join answer; an empty body counts as <c>null</c>.</summary>
    public static string? AnyAnswer(JsonElement answer) => null;

    private static JsonNode? Parse(string? json) => json is null ? null : JsonNode.Parse(json);
}

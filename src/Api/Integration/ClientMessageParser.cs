using System.Text.Json;
using Tether.Contracts;

namespace Tether.Api.Integration;

/// <summary>
/// Turns the <c>body</c> of a <c>/handle-event</c> call (the client's WebSocket message) into a command, following
/// docs/protocol.md. Lenient about how the message arrived (object, JSON text inside a string, bare text), strict
/// about the fields it uses.
/// </summary>
internal static class ClientMessageParser
{
    private static readonly JsonDocumentOptions InnerOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    public static (ClientCommand? Command, BodyError? Error) Parse(JsonElement body, LimitOptions limits)
    {
        switch (body.ValueKind)
        {
            case JsonValueKind.Object:
                return ParseObject(body, limits);
            case JsonValueKind.String:
                // A template like "body": "$util.escapeJavaScript($input.body)" delivers the client's JSON as a string.
                if (JsonBody.TryGetText(body, out var text) && text.AsSpan().TrimStart().StartsWith("{"))
                {
                    try
                    {
                        using var inner = JsonDocument.Parse(text, InnerOptions);
                        return ParseObject(inner.RootElement, limits);
                    }
                    catch (JsonException)
                    {
                        // Not JSON after all: plain text that happens to start with '{'.
                    }
                }
                return (new SendToRoom(null, body.GetRawText(), Echo: true), null);
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return (null, Invalid("The event has no message body."));
            default:
                // A bare number, boolean or array: a message for the default room, like a bare string.
                return (new SendToRoom(null, body.GetRawText(), Echo: true), null);
        }
    }

    private static (ClientCommand?, BodyError?) ParseObject(JsonElement message, LimitOptions limits)
    {
        if (!TryString(message, "action", out var action, out var error)) return (null, error);
        if (!TryRoom(message, limits, out var room, out error)) return (null, error);
        if (!TryEcho(message, out var echo, out error)) return (null, error);
        var hasMessage = message.TryGetProperty("message", out var payload);

        switch (action?.ToLowerInvariant())
        {
            case "joinroom":
                return (new JoinRoom(room), null);
            case "leaveroom":
                return room is null ? (null, Invalid("leaveroom needs a \"room\".")) : (new LeaveRoom(room), null);
            case "sendmessage":
                return hasMessage
                    ? (new SendToRoom(room, payload.GetRawText(), echo), null)
                    : (null, Invalid("sendmessage needs a \"message\"."));
            case "sendto":
                return ParseSendTo(message, hasMessage, payload);
            default:
                // The seed client's {"action":"chat","message":"..."}, or no action: the default room.
                return hasMessage
                    ? (new SendToRoom(null, payload.GetRawText(), echo), null)
                    : (null, Invalid(action is null
                        ? "The message has neither an \"action\" nor a \"message\"."
                        : $"Unknown action '{Shorten(action)}' without a \"message\". Use joinroom, leaveroom, sendmessage or sendto."));
        }
    }

    private static (ClientCommand?, BodyError?) ParseSendTo(JsonElement message, bool hasMessage, JsonElement payload)
    {
        if (!hasMessage) return (null, Invalid("sendto needs a \"message\"."));
        if (!TryString(message, "connectionId", out var connectionId, out var error)) return (null, error);
        if (!TryString(message, "user", out var user, out error)) return (null, error);
        if ((connectionId is null) == (user is null))
        {
            return (null, Invalid("sendto needs exactly one of \"connectionId\" and \"user\"."));
        }
        if (connectionId is not null && !ConnectionIds.IsValid(connectionId))
        {
            return (null, new BodyError(400, "invalid_connection_id", "\"connectionId\" is not a valid API Gateway connection id."));
        }
        if (user is not null && !UserIds.IsValid(user))
        {
            return (null, Invalid("\"user\" must be 1 to 256 characters, not only white space, without control characters."));
        }
        return (new SendDirect(connectionId, user, payload.GetRawText()), null);
    }

    private static bool TryString(JsonElement message, string name, out string? value, out BodyError? error)
    {
        value = null;
        error = null;
        if (!message.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null) return true;
        if (element.ValueKind != JsonValueKind.String)
        {
            error = Invalid($"\"{name}\" must be a string.");
            return false;
        }
        if (!JsonBody.TryGetText(element, out var text))
        {
            error = name == "room"
                ? new BodyError(400, "invalid_room", $"\"{name}\" is not valid text (it has a broken surrogate pair).")
                : Invalid($"\"{name}\" is not valid text (it has a broken surrogate pair).");
            return false;
        }
        value = text;
        return true;
    }

    private static bool TryRoom(JsonElement message, LimitOptions limits, out string? room, out BodyError? error)
    {
        if (!TryString(message, "room", out room, out error)) return false;
        if (room is not null && !limits.IsValidRoomName(room))
        {
            error = new BodyError(400, "invalid_room", limits.RoomNameRule);
            return false;
        }
        return true;
    }

    private static bool TryEcho(JsonElement message, out bool echo, out BodyError? error)
    {
        echo = true;
        error = null;
        if (!message.TryGetProperty("echo", out var element) || element.ValueKind == JsonValueKind.Null) return true;
        if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            echo = element.GetBoolean();
            return true;
        }
        error = Invalid("\"echo\" must be true or false.");
        return false;
    }

    private static BodyError Invalid(string message) => new(400, "invalid_message", message);

    private static string Shorten(string text) => text.Length > 64 ? text[..64] + "…" : text;
}

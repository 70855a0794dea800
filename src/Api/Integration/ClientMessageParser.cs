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
    public const int MaxRequestIdLength = 64;

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
        if (!TryRequestId(message, out var requestId, out var requestIdError)) return (null, requestIdError);
        var (command, error) = ParseAction(message, limits);
        return requestId is null ? (command, error) : (command is null ? null : command with { RequestId = requestId }, error is null ? null : error with { RequestId = requestId });
    }

    private static (ClientCommand?, BodyError?) ParseAction(JsonElement message, LimitOptions limits)
    {
        if (!TryString(message, "action", out var action, out var error)) return (null, error);
        if (!TryRoom(message, limits, out var room, out error)) return (null, error);
        if (!TryEcho(message, out var echo, out error)) return (null, error);
        var hasMessage = message.TryGetProperty("message", out var payload);

        switch (action?.ToLowerInvariant())
        {
            case "joinroom":
                if (!TryPosition(message, "since", out var since, out error)) return (null, error);
                return (new JoinRoom(room, since), null);
            case "resume":
                return ParseResume(message, limits);
            case "history":
                return ParseHistory(message, room);
            case "ping":
                return (new Ping(), null);
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
                        : $"Unknown action '{Shorten(action)}' without a \"message\". Use joinroom, leaveroom, sendmessage, sendto, resume, history or ping."));
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

    private static (ClientCommand?, BodyError?) ParseResume(JsonElement message, LimitOptions limits)
    {
        var rooms = new Dictionary<string, StreamPosition>(StringComparer.Ordinal);
        if (message.TryGetProperty("rooms", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Object) return (null, Invalid("\"rooms\" must be an object of room name → {\"epoch\",\"seq\"}."));
            foreach (var entry in list.EnumerateObject())
            {
                if (!limits.IsValidRoomName(entry.Name)) return (null, new BodyError(400, "invalid_room", limits.RoomNameRule));
                if (!TryPositionValue(entry.Value, $"rooms.{Shorten(entry.Name)}", out var position, out var error)) return (null, error);
                rooms[entry.Name] = position!;
                if (limits.MaxRoomsPerConnection > 0 && rooms.Count > limits.MaxRoomsPerConnection)
                {
                    return (null, new BodyError(400, "too_many_rooms", $"A connection may be in at most {limits.MaxRoomsPerConnection} rooms: resume names more."));
                }
            }
        }
        if (!TryPosition(message, "user", out var user, out var userError)) return (null, userError);
        if (rooms.Count == 0 && user is null) return (null, Invalid("resume needs \"rooms\" or \"user\"."));
        return (new ResumeStreams(rooms, user), null);
    }

    private static (ClientCommand?, BodyError?) ParseHistory(JsonElement message, string? room)
    {
        if (room is null) return (null, Invalid("history needs a \"room\"."));
        if (!TryInteger(message, "limit", 1, HistoryQuery.MaxLimit, out var limit, out var error)) return (null, error);
        if (!TryInteger(message, "before", 1, StreamPosition.MaxSeq, out var before, out error)) return (null, error);
        return (new HistoryQuery(room, (int)(limit ?? HistoryQuery.DefaultLimit), before), null);
    }

    /// <summary>An optional <c>{"epoch":"E","seq":N}</c> field.</summary>
    private static bool TryPosition(JsonElement message, string name, out StreamPosition? position, out BodyError? error)
    {
        position = null;
        error = null;
        return !message.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null || TryPositionValue(element, name, out position, out error);
    }

    /// <summary><c>{"epoch":"E","seq":N}</c>, with an epoch of 1 to 32 characters and a seq from 0 to 2^53 - 1.</summary>
    private static bool TryPositionValue(JsonElement element, string name, out StreamPosition? position, out BodyError? error)
    {
        position = null;
        error = null;
        var rule = $"\"{name}\" must be {{\"epoch\": 1 to {StreamPosition.MaxEpochLength} characters, \"seq\": an integer from 0 to {StreamPosition.MaxSeq}}}.";
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("epoch", out var epoch) || epoch.ValueKind != JsonValueKind.String
            || !JsonBody.TryGetText(epoch, out var epochText) || epochText.Length is 0 or > StreamPosition.MaxEpochLength
            || !element.TryGetProperty("seq", out var seq) || seq.ValueKind != JsonValueKind.Number
            || !seq.TryGetInt64(out var number) || number is < 0 or > StreamPosition.MaxSeq)
        {
            error = Invalid(rule);
            return false;
        }
        position = new StreamPosition(epochText, number);
        return true;
    }

    private static bool TryInteger(JsonElement message, string name, long min, long max, out long? value, out BodyError? error)
    {
        value = null;
        error = null;
        if (!message.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null) return true;
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var number) || number < min || number > max)
        {
            error = Invalid($"\"{name}\" must be an integer from {min} to {max}.");
            return false;
        }
        value = number;
        return true;
    }

    /// <summary><c>requestId</c>: 1 to 64 visible ASCII characters (contract §7).</summary>
    private static bool TryRequestId(JsonElement message, out string? requestId, out BodyError? error)
    {
        if (!TryString(message, "requestId", out requestId, out error)) return false;
        if (requestId is null || (requestId.Length is >= 1 and <= MaxRequestIdLength && requestId.All(c => c is >= '!' and <= '~'))) return true;
        requestId = null;
        error = Invalid($"\"requestId\" must be 1 to {MaxRequestIdLength} visible ASCII characters.");
        return false;
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

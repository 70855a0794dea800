using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Api.Integration;

/// <summary>
/// The connect hook (contract §10): after the token checks, before anything is stored. The application may set the
/// user, replace the rooms to join and attach up to 4 KiB of <c>data</c>; an answer that breaks those rules is a failure.
/// </summary>
internal static class ConnectHook
{
    public sealed record Decision(string? User, List<string> Rooms, string? Data);

    public static async Task<(Decision? Decision, ErrorReply? Refusal)> RunAsync(
        IApplicationHooks hooks, string connectionId, string? user, string? claimsJson, List<string> rooms, string? sourceIp, string? userAgent,
        LimitOptions limits, RoomOptions roomOptions)
    {
        var request = new JsonObject
        {
            ["connectionId"] = connectionId,
            ["user"] = user,
            ["claims"] = claimsJson is null ? null : JsonNode.Parse(claimsJson),
            ["rooms"] = new JsonArray([.. rooms.Select(r => JsonValue.Create(r))]),
            ["sourceIp"] = sourceIp,
            ["userAgent"] = userAgent,
        };
        var result = await hooks.CallAsync(HookName.Connect, request, answer => Check(answer, limits, roomOptions));
        if (result.Refusal is { } refusal) return (null, refusal);
        if (result.Answer is not { ValueKind: JsonValueKind.Object } answer) return (new Decision(user, rooms, null), null);

        var newUser = answer.TryGetProperty("user", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : user;
        var newRooms = answer.TryGetProperty("rooms", out var r) && r.ValueKind == JsonValueKind.Array
            ? [.. r.EnumerateArray().Select(e => e.GetString()!).Where(n => n != roomOptions.DefaultRoom).Distinct(StringComparer.Ordinal)]
            : rooms;
        var data = answer.TryGetProperty("data", out var d) && d.ValueKind != JsonValueKind.Null ? d.GetRawText() : null;
        return (new Decision(newUser, newRooms, data), null);
    }

    /// <summary>What is wrong with a 200 answer, or null.</summary>
    private static string? Check(JsonElement answer, LimitOptions limits, RoomOptions roomOptions)
    {
        // An empty 200 accepts the connection as it is.
        if (answer.ValueKind == JsonValueKind.Null) return null;
        if (answer.ValueKind != JsonValueKind.Object) return "the connect hook must answer a JSON object";
        if (answer.TryGetProperty("user", out var user) && !(user.ValueKind == JsonValueKind.Null
            || (user.ValueKind == JsonValueKind.String && UserIds.IsValid(user.GetString()))))
        {
            return "\"user\" must be a user id";
        }
        if (answer.TryGetProperty("rooms", out var rooms) && rooms.ValueKind != JsonValueKind.Null)
        {
            if (rooms.ValueKind != JsonValueKind.Array || !rooms.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String && limits.IsValidRoomName(e.GetString())))
            {
                return "\"rooms\" must be an array of room names";
            }
            var count = rooms.EnumerateArray().Select(e => e.GetString()).Append(roomOptions.DefaultRoom).Where(n => n is not null).Distinct(StringComparer.Ordinal).Count();
            if (limits.MaxRoomsPerConnection > 0 && count > limits.MaxRoomsPerConnection) return "\"rooms\" holds more rooms than Limits__MaxRoomsPerConnection";
        }
        if (answer.TryGetProperty("data", out var data) && Encoding.UTF8.GetByteCount(data.GetRawText()) > HookRequests.MaxDataBytes)
        {
            return $"\"data\" is larger than {HookRequests.MaxDataBytes} bytes";
        }
        return null;
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Tether.Contracts;
using Tether.Grains;
using Tether.Api.Hosting;
using Tether.Api.Logging;
using Tether.Api.Security;

namespace Tether.Api.Integration;

/// <summary>The endpoints API Gateway's HTTP integrations call (docs/protocol.md); errors are <c>{"type":"error",…}</c>.</summary>
internal static class IntegrationEndpoints
{
    public static IEndpointRouteBuilder MapIntegrationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags("Integration").WithMetadata(IntegrationSurface.Instance)
            .AddSharedEndpointFilter<RouteGroupBuilder, IntegrationSecretFilter>();
        group.MapPost("/connect", ConnectAsync);
        group.MapMethods("/disconnect", [HttpMethods.Delete, HttpMethods.Post], DisconnectAsync);
        group.MapPost("/handle-event", HandleEventAsync);
        return app;
    }

    /// <summary>Whether the request is for one of these endpoints, which answer errors in the integration shape.</summary>
    public static bool Serves(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<IntegrationSurface>() is not null;

    private sealed class IntegrationSurface
    {
        public static readonly IntegrationSurface Instance = new();
    }

    private static async Task<IResult> ConnectAsync(
        HttpRequest request, IGrainFactory grains, IOptions<IntegrationOptions> options, IOptions<LimitOptions> limits,
        IOptions<RoomOptions> roomOptions, UserTokenValidator tokens, TimeProvider time, IApplicationHooks hooks, CallBudget budget,
        PendingDisconnects pending)
    {
        var (document, error) = await JsonBody.ReadAsync(request, options.Value.MaxBodyBytes, request.HttpContext.RequestAborted);
        if (error is not null) return Replies.Error(error);
        using (document)
        {
            var root = document!.RootElement;
            if (ConnectionId(root, out error) is not { } connectionId) return Replies.Error(error!);

            var user = JsonBody.OptionalString(root, "user", UserIds.MaxLength, out error);
            if (error is not null) return Replies.Error(error);
            // A template renders an absent query parameter as "": that is no user, not an invalid one.
            if (!string.IsNullOrEmpty(user) && !UserIds.IsValid(user)) return Replies.Error(400, "invalid_field", "\"user\" must not be only white space or contain control characters.");
            var sourceIp = JsonBody.OptionalString(root, "source_ip", 64, out error);
            if (error is not null) return Replies.Error(error);
            var userAgent = JsonBody.OptionalString(root, "user_agent", 1024, out error);
            if (error is not null) return Replies.Error(error);
            var requestId = JsonBody.OptionalString(root, "request_id", 128, out error);
            if (error is not null) return Replies.Error(error);
            if (Rooms(root, limits.Value, roomOptions.Value, out error) is not { } rooms) return Replies.Error(error!);
            if (ConnectedAt(root, time, out error) is not { } connectedAt) return Replies.Error(error!);
            if (BatchFlag.Read(root, out error) is not { } batch) return Replies.Error(error!);
            using var logScope = RequestLog.Begin(request, connectionId, requestId);

            IReadOnlyList<string>? allowedRooms = null;
            string? claims = null;
            if (tokens.Enabled)
            {
                var token = JsonBody.OptionalString(root, "token", int.MaxValue, out error);
                if (error is not null) return Replies.Error(401, "invalid_token", error.Message);
                var check = await tokens.CheckAsync(token);
                if (!check.Accepted) return Replies.Error(401, check.ErrorCode!, check.ErrorMessage!);
                // The token decides who this is: a "user" field from the template cannot override it.
                user = check.User;
                allowedRooms = check.AllowedRooms;
                claims = check.ClaimsJson;
                var defaultRoom = roomOptions.Value.DefaultRoom;
                if (rooms.FirstOrDefault(r => r != defaultRoom && !RoomPatterns.Allows(allowedRooms, r)) is { } forbidden)
                {
                    return Replies.Error(403, "room_forbidden", $"The token does not allow room '{forbidden}'.");
                }
            }

            string? data = null;
            if (hooks.IsConfigured(HookName.Connect))
            {
                var (decision, refusal) = await ConnectHook.RunAsync(hooks, connectionId, Blank(user), claims, rooms, Blank(sourceIp), Blank(userAgent), limits.Value, roomOptions.Value);
                if (refusal is not null) return Replies.From(refusal);
                (user, rooms, data) = (decision!.User, decision.Rooms, decision.Data);
            }

            var connect = new ConnectRequest(Blank(user), rooms, connectedAt, Blank(sourceIp), Blank(userAgent), requestId, allowedRooms, batch, data);
            var result = await ConnectOrUndoAsync(grains, connectionId, connect, time, budget, pending);
            return Results.Json(new JsonObject
            {
                ["type"] = "connected",
                ["connectionId"] = connectionId,
                ["rooms"] = new JsonArray([.. result.Rooms.Select(r => JsonValue.Create(r))]),
            });
        }
    }

    /// <summary>
    /// The connector (<see cref="IConnectorGrain"/>, on the silo this call reaches; the connection's grain is not
    /// activated) refuses a connect that reaches it after the deadline and undoes one that finishes after it; should the
    /// call fail anyway (a lost reply), a disconnect kept by <see cref="PendingDisconnects"/> undoes it, so that the 503
    /// API Gateway gets (it then refuses the WebSocket) stays true.
    /// </summary>
    private static async Task<ConnectResult> ConnectOrUndoAsync(IGrainFactory grains, string connectionId, ConnectRequest request, TimeProvider time, CallBudget budget, PendingDisconnects pending)
    {
        try
        {
            using (CallDeadline.Begin(time, budget.Timeout))
            {
                return await grains.Connector().Connect(connectionId, request);
            }
        }
        catch (Exception e) when (ClusterFailures.IsUnavailable(e))
        {
            pending.TryAdd(connectionId, "$connect answered 503");
            throw;
        }
    }

    private static async Task<IResult> DisconnectAsync(HttpRequest request, IGrainFactory grains, IOptions<IntegrationOptions> options, PendingDisconnects pending)
    {
        var (document, error) = await JsonBody.ReadAsync(request, options.Value.MaxBodyBytes, request.HttpContext.RequestAborted);
        if (error is not null) return Replies.Error(error);
        using (document)
        {
            var root = document!.RootElement;
            if (ConnectionId(root, out error) is not { } connectionId) return Replies.Error(error!);
            var reason = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String && JsonBody.TryGetText(r, out var text) ? text : null;
            var status = root.TryGetProperty("status_code", out var s) && s.ValueKind is JsonValueKind.Number or JsonValueKind.String && JsonBody.TryGetText(s, out var code)
                ? (s.ValueKind == JsonValueKind.Number ? s.GetRawText() : code)
                : null;
            using var logScope = RequestLog.Begin(request, connectionId, RequestLog.GatewayRequestId(root));
            var why = string.Join(' ', new[] { status, reason }.Where(x => !string.IsNullOrEmpty(x)).Select(x => x!.Length > 120 ? x[..120] : x));

            var disconnectReason = why.Length == 0 ? "$disconnect" : "$disconnect " + why;
            try
            {
                await grains.Connection(connectionId).Disconnect(disconnectReason);
            }
            catch (Exception e) when (ClusterFailures.IsUnavailable(e))
            {
                // API Gateway will not send it again: this node keeps trying (the answer is still the 503).
                pending.TryAdd(connectionId, disconnectReason);
                throw;
            }
            return Results.Json(new JsonObject { ["type"] = "disconnected", ["connectionId"] = connectionId });
        }
    }

    private static async Task<IResult> HandleEventAsync(
        HttpRequest request, IGrainFactory grains, IOptions<IntegrationOptions> options, IOptions<LimitOptions> limits, IApplicationHooks hooks,
        TimeProvider time, CallBudget budget)
    {
        var (document, error) = await JsonBody.ReadAsync(request, options.Value.MaxBodyBytes, request.HttpContext.RequestAborted);
        if (error is not null) return Replies.Error(error);
        using (document)
        {
            var root = document!.RootElement;
            if (ConnectionId(root, out error) is not { } connectionId) return Replies.Error(error!);
            using var logScope = RequestLog.Begin(request, connectionId, RequestLog.GatewayRequestId(root));
            var body = root.TryGetProperty("body", out var b) ? b : default;
            var (command, invalid) = RpcActions.Match(body, hooks) is { } rpc ? (rpc, null) : ClientMessageParser.Parse(body, limits.Value);
            if (invalid is not null) return Replies.Error(invalid);

            ClientReply reply;
            // The grain answers by the deadline (a message it cannot take by then is refused, not sent): no 503 for a
            // message that goes out.
            using (CallDeadline.Begin(time, budget.Timeout))
            {
                try
                {
                    reply = await grains.Connection(connectionId).Handle(command!);
                }
                catch (OverloadedException e)
                {
                    // Refused by admission before anything was done (nothing accepted, nothing in history).
                    request.HttpContext.Response.Headers.RetryAfter = Replies.OverloadedRetryAfter;
                    reply = new ErrorReply(StatusCodes.Status503ServiceUnavailable, OverloadedException.Code, e.Message);
                }
            }
            return Replies.From(reply, command!.RequestId);
        }
    }

    private static string? ConnectionId(JsonElement root, out BodyError? error)
    {
        error = null;
        if (!root.TryGetProperty("connection_id", out var value) || value.ValueKind != JsonValueKind.String)
        {
            error = new BodyError(400, "invalid_connection_id", "\"connection_id\" (a string) is required.");
            return null;
        }
        if (!JsonBody.TryGetText(value, out var id) || !ConnectionIds.IsValid(id))
        {
            error = new BodyError(400, "invalid_connection_id",
                $"\"connection_id\" must be 1 to {Contracts.ConnectionIds.MaxLength} characters of A-Z, a-z, 0-9, '-', '_', '+', '/' and '='.");
            return null;
        }
        return id;
    }

    /// <summary><c>rooms</c>: a JSON array of names, or one comma-separated string (what a query-string template yields).</summary>
    private static List<string>? Rooms(JsonElement root, LimitOptions limits, RoomOptions roomOptions, out BodyError? error)
    {
        error = null;
        var rooms = new List<string>();
        if (!root.TryGetProperty("rooms", out var value) || value.ValueKind == JsonValueKind.Null) return rooms;

        IEnumerable<string?> names = value.ValueKind switch
        {
            JsonValueKind.String => JsonBody.TryGetText(value, out var list)
                ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : new string?[] { null },
            JsonValueKind.Array when value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                value.EnumerateArray().Select(e => JsonBody.TryGetText(e, out var name) ? name : null),
            _ => [null],
        };
        // The default room is joined as well, so it counts against the per-connection limit.
        var max = limits.MaxRoomsPerConnection > 0 ? limits.MaxRoomsPerConnection - (roomOptions.DefaultRoom is null ? 0 : 1) : int.MaxValue;
        foreach (var name in names)
        {
            if (!limits.IsValidRoomName(name))
            {
                error = new BodyError(400, "invalid_room",
                    $"\"rooms\" must be an array of room names or a comma-separated string. {limits.RoomNameRule}");
                return null;
            }
            if (name == roomOptions.DefaultRoom || rooms.Contains(name!, StringComparer.Ordinal)) continue;
            if (rooms.Count >= max)
            {
                error = new BodyError(400, "too_many_rooms", $"A connection may be in at most {limits.MaxRoomsPerConnection} rooms, the default room included.");
                return null;
            }
            rooms.Add(name!);
        }
        return rooms;
    }

    /// <summary><c>connected_at</c>: epoch milliseconds as a number or a numeric string; now when absent.</summary>
    private static DateTimeOffset? ConnectedAt(JsonElement root, TimeProvider time, out BodyError? error)
    {
        error = null;
        if (!root.TryGetProperty("connected_at", out var value) || value.ValueKind == JsonValueKind.Null) return time.GetUtcNow();
        long ms = 0;
        var ok = value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetInt64(out ms),
            JsonValueKind.String => JsonBody.TryGetText(value, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ms),
            _ => false,
        };
        if (!ok || ms < 0 || ms > 253_402_300_799_999)
        {
            error = new BodyError(400, "invalid_field", "\"connected_at\" must be epoch milliseconds.");
            return null;
        }
        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

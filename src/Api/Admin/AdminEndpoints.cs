using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Tether.Api.Hosting;
using Tether.Api.Integration;
using Tether.Contracts;
using Tether.Grains;
using Tether.Hosting;

namespace Tether.Api.Admin;

/// <summary>Our own REST API for other services, under <c>/api</c> (docs/protocol.md); errors are ProblemDetails.</summary>
internal static class AdminEndpoints
{
    private const int DefaultMessagesPage = 100;
    private const int MaxMessagesPage = 1000;

    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        // Scripts call /api, browsers do not: no Basic login prompt here.
        var api = app.MapGroup("/api").WithTags("Admin").RequireApiKey(allowBasic: false);
        api.MapPost("/rooms/{room}/messages", SendToRoomAsync);
        api.MapGet("/rooms/{room}/messages", GetMessagesAsync);
        api.MapGet("/rooms/{room}", GetRoomAsync);
        api.MapGet("/rooms/{room}/members", GetMembersAsync);
        api.MapPost("/connections/{id}/messages", SendToConnectionAsync);
        api.MapPost("/users/{user}/messages", SendToUserAsync);
        api.MapGet("/connections/{id}", GetConnectionAsync);
        api.MapDelete("/connections/{id}", DeleteConnectionAsync);
        return app;
    }

    private static async Task<IResult> SendToRoomAsync(
        string room, bool? wait, double? timeoutSeconds, HttpRequest request, IGrainFactory grains,
        IOptions<IntegrationOptions> integration, IOptions<AdminOptions> options, IOptions<LimitOptions> limits, TimeProvider time, MessageMetrics metrics,
        IApplicationHooks hooks, CallBudget budget)
    {
        room = SlashesFromRoute(room);
        if (!limits.Value.IsValidRoomName(room)) return BadRoom(limits.Value);
        var (message, problem) = await ReadMessageAsync(request, room, null, integration.Value, limits.Value, time, hooks, target: null);
        if (problem is not null) return problem;

        metrics.MessageReceived("api", "room");
        var grain = grains.Room(room);
        PublishReceipt receipt;
        // Admission ends by the deadline: no 503 for a message that is then delivered.
        using (CallDeadline.Begin(time, budget.Timeout))
        {
            receipt = await grain.Publish(message!, exceptConnectionId: null, trackDelivery: wait == true);
        }
        if (wait != true)
        {
            return Results.Json(new JsonObject { ["id"] = receipt.MessageId, ["recipients"] = receipt.Recipients, ["seq"] = receipt.Seq, ["epoch"] = receipt.Epoch }, statusCode: 202);
        }

        var limit = options.Value.MaxWait;
        // Compared as seconds first: TimeSpan.FromSeconds overflows on huge or infinite values.
        var timeout = timeoutSeconds is > 0 && timeoutSeconds.Value < limit.TotalSeconds ? TimeSpan.FromSeconds(timeoutSeconds.Value) : limit;
        var summary = await grain.AwaitDelivery(receipt.MessageId, timeout);
        return Results.Json(new JsonObject
        {
            ["id"] = receipt.MessageId,
            ["recipients"] = receipt.Recipients,
            ["seq"] = receipt.Seq,
            ["epoch"] = receipt.Epoch,
            ["delivered"] = summary.Delivered,
            ["gone"] = summary.Gone,
            ["failed"] = summary.Failed,
            ["complete"] = summary.Complete,
        }, statusCode: summary.Complete ? 200 : 202);
    }

    /// <summary>
    /// A page of the room's history after seq <c>since</c> (default 0), ascending. Query values are read as text, so a
    /// negative, fractional or huge number is a 400 with our detail rather than the framework's binding failure.
    /// </summary>
    private static async Task<IResult> GetMessagesAsync(string room, HttpRequest request, IGrainFactory grains, IOptions<LimitOptions> limits)
    {
        room = SlashesFromRoute(room);
        if (!limits.Value.IsValidRoomName(room)) return BadRoom(limits.Value);
        if (QueryInteger(request, "since", 0, StreamPosition.MaxSeq, 0) is not { } since)
        {
            return Results.Problem(statusCode: 400, title: "Invalid since", detail: $"since is an integer from 0 to {StreamPosition.MaxSeq}.");
        }
        if (QueryInteger(request, "limit", 1, MaxMessagesPage, DefaultMessagesPage) is not { } limit)
        {
            return Results.Problem(statusCode: 400, title: "Invalid limit", detail: $"limit is an integer from 1 to {MaxMessagesPage}.");
        }
        var page = await grains.Room(room).Messages(since, (int)limit);
        return Results.Json(new JsonObject
        {
            ["room"] = room,
            ["epoch"] = page.Epoch,
            ["seq"] = page.Seq,
            ["items"] = Replies.Envelopes(page.Messages),
            ["more"] = page.More,
        });
    }

    /// <summary>An optional integer query value within bounds; null when present and not one.</summary>
    private static long? QueryInteger(HttpRequest request, string name, long min, long max, long fallback)
    {
        var values = request.Query[name];
        if (values.Count == 0) return fallback;
        return values.Count == 1 && long.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && value >= min && value <= max ? value : null;
    }

    private static async Task<IResult> GetRoomAsync(string room, IGrainFactory grains, IOptions<LimitOptions> limits)
    {
        room = SlashesFromRoute(room);
        if (!limits.Value.IsValidRoomName(room)) return BadRoom(limits.Value);
        var members = await grains.Room(room).Count();
        return Results.Json(new JsonObject { ["room"] = room, ["members"] = members });
    }

    private static async Task<IResult> GetMembersAsync(string room, string? after, int? limit, IGrainFactory grains, IOptions<LimitOptions> limits)
    {
        room = SlashesFromRoute(room);
        if (!limits.Value.IsValidRoomName(room)) return BadRoom(limits.Value);
        if (limit is < 1 or > 1000) return Results.Problem(statusCode: 400, title: "Invalid limit", detail: "limit is 1 to 1000.");
        var page = await grains.Room(room).GetMembers(after, limit ?? 100);
        return Results.Json(new JsonObject
        {
            ["room"] = room,
            ["members"] = page.Total,
            ["items"] = new JsonArray([.. page.Members.Select(m => JsonValue.Create(m))]),
            ["next"] = page.Next,
        });
    }

    private static async Task<IResult> SendToConnectionAsync(
        string id, HttpRequest request, IGrainFactory grains, IOptions<IntegrationOptions> integration, IOptions<LimitOptions> limits, TimeProvider time, MessageMetrics metrics,
        IApplicationHooks hooks, CallBudget budget)
    {
        if (ConnectionIdFromRoute(id) is not { } connectionId) return BadConnectionId();
        var (message, problem) = await ReadMessageAsync(request, null, null, integration.Value, limits.Value, time, hooks, HookRequests.Target(connectionId, null));
        if (problem is not null) return problem;
        metrics.MessageReceived("api", "connection");
        bool delivered;
        using (CallDeadline.Begin(time, budget.Timeout))
        {
            delivered = await grains.DirectMessages().ToConnection(connectionId, message!);
        }
        return delivered
            ? Results.Json(new JsonObject { ["id"] = message!.Id, ["recipients"] = 1 }, statusCode: 202)
            : Results.Problem(statusCode: 404, title: "Unknown connection", detail: $"No connection '{connectionId}' is connected.");
    }

    private static async Task<IResult> SendToUserAsync(
        string user, HttpRequest request, IGrainFactory grains, IOptions<IntegrationOptions> integration, IOptions<LimitOptions> limits, TimeProvider time, MessageMetrics metrics,
        IApplicationHooks hooks, CallBudget budget)
    {
        user = SlashesFromRoute(user);
        if (!UserIds.IsValid(user)) return Results.Problem(statusCode: 400, title: "Invalid user", detail: UserIds.Rule);
        var (message, problem) = await ReadMessageAsync(request, null, null, integration.Value, limits.Value, time, hooks, HookRequests.Target(null, user));
        if (problem is not null) return problem;
        metrics.MessageReceived("api", "user");
        PublishReceipt? receipt;
        using (CallDeadline.Begin(time, budget.Timeout))
        {
            receipt = await grains.DirectMessages().ToUser(user, message!);
        }
        return receipt is { Recipients: > 0 }
            ? Results.Json(new JsonObject { ["id"] = receipt.MessageId, ["recipients"] = receipt.Recipients, ["seq"] = receipt.Seq, ["epoch"] = receipt.Epoch }, statusCode: 202)
            : Results.Problem(statusCode: 404, title: "Unknown user", detail: $"User '{user}' has no connection.");
    }

    private static async Task<IResult> GetConnectionAsync(string id, IGrainFactory grains)
    {
        if (ConnectionIdFromRoute(id) is not { } connectionId) return BadConnectionId();
        var snapshot = await grains.Connection(connectionId).GetSnapshot();
        if (snapshot is null) return Results.Problem(statusCode: 404, title: "Unknown connection", detail: $"No connection '{connectionId}' is connected.");
        return Results.Json(new JsonObject
        {
            ["connectionId"] = snapshot.ConnectionId,
            ["user"] = snapshot.User,
            ["rooms"] = new JsonArray([.. snapshot.Rooms.Select(r => JsonValue.Create(r))]),
            ["connectedAt"] = snapshot.ConnectedAt.UtcDateTime.ToString("O"),
            ["sourceIp"] = snapshot.SourceIp,
            ["userAgent"] = snapshot.UserAgent,
        });
    }

    /// <summary>Closes the connection at API Gateway, then forgets it. A connection API Gateway no longer has (410) is forgotten too.</summary>
    private static async Task<IResult> DeleteConnectionAsync(string id, IGrainFactory grains)
    {
        if (ConnectionIdFromRoute(id) is not { } connectionId) return BadConnectionId();
        // The silo calls API Gateway: API nodes may be pure Orleans clients without Management API credentials.
        var result = await grains.Connection(connectionId).Close("deleted through the admin API");
        if (!result.Closed)
        {
            return Results.Problem(statusCode: 502, title: "API Gateway did not close the connection",
                detail: $"DeleteConnection ended {result.Outcome} (HTTP {result.StatusCode}); the connection is kept.");
        }
        return Results.NoContent();
    }

    /// <summary>Reads the body's message and runs the publish hook on it (once, before any fan-out).</summary>
    private static async Task<(OutboundMessage?, IResult?)> ReadMessageAsync(
        HttpRequest request, string? room, string? from, IntegrationOptions integration, LimitOptions limits, TimeProvider time,
        IApplicationHooks hooks, JsonObject? target)
    {
        var (document, error) = await JsonBody.ReadAsync(request, integration.MaxBodyBytes, request.HttpContext.RequestAborted);
        if (error is not null) return (null, Results.Problem(statusCode: error.Status, title: error.Code, detail: error.Message));
        using (document)
        {
            if (!document!.RootElement.TryGetProperty("message", out var value) || value.ValueKind == JsonValueKind.Undefined)
            {
                return (null, Results.Problem(statusCode: 400, title: "invalid_message", detail: "The body needs a \"message\" field."));
            }
            var messageJson = value.GetRawText();
            if (hooks.IsConfigured(HookName.Publish))
            {
                var hook = await hooks.CallAsync(HookName.Publish, HookRequests.Publish(null, null, room, target, messageJson, null), HookRequests.CheckPublishAnswer);
                if (hook.Refusal is { } refused)
                {
                    return (null, Results.Problem(statusCode: refused.Status, title: refused.Code, detail: refused.Message,
                        extensions: new Dictionary<string, object?> { ["code"] = refused.Code }));
                }
                messageJson = HookRequests.PublishedMessage(hook.Answer, messageJson)!;
            }
            var message = Envelopes.Message(Envelopes.NewMessageId(), room, from, user: null, messageJson, time.GetUtcNow());
            if (message.Payload.Length > limits.MaxMessageBytes)
            {
                return (null, Results.Problem(statusCode: 413, title: "message_too_large",
                    detail: $"The message is {message.Payload.Length} bytes with its envelope; at most {limits.MaxMessageBytes} bytes are delivered."));
            }
            return (message, null);
        }
    }

    /// <summary>Connection ids may contain '/' (base64).</summary>
    private static string? ConnectionIdFromRoute(string id)
    {
        var decoded = SlashesFromRoute(id);
        return ConnectionIds.IsValid(decoded) ? decoded : null;
    }

    /// <summary>
    /// Routing leaves <c>%2F</c> encoded in a segment: it is a connection id's, room name's or user id's '/'. (A name
    /// holding the text "%2F" itself cannot be told apart from it here, and is not reachable through <c>/api</c>.)
    /// </summary>
    private static string SlashesFromRoute(string name) => name.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    private static IResult BadRoom(LimitOptions limits) => Results.Problem(statusCode: 400, title: "Invalid room", detail: limits.RoomNameRule);

    private static IResult BadConnectionId() => Results.Problem(statusCode: 400, title: "Invalid connection id",
        detail: "A connection id is 1 to 128 characters of A-Z, a-z, 0-9, '-', '_', '+', '/' and '='.");
}

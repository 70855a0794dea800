using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Tether.Abstractions;

namespace Tether.Api.Integration;

/// <summary>The endpoints API Gateway's HTTP integrations call (contract §1).</summary>
internal static class IntegrationEndpoints
{
    public static IEndpointRouteBuilder MapIntegrationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags("Integration");
        group.MapPost("/connect", ConnectAsync);
        group.MapMethods("/disconnect", [HttpMethods.Delete, HttpMethods.Post], DisconnectAsync);
        group.MapPost("/handle-event", HandleEventAsync);
        return app;
    }

    private static async Task<IResult> ConnectAsync(HttpRequest request, IGrainFactory grains, IOptions<IntegrationOptions> options, TimeProvider time)
    {
        var (document, error) = await JsonBody.ReadAsync(request, options.Value.MaxBodyBytes, request.HttpContext.RequestAborted);
        if (error is not null) return Replies.Error(error);
        using (document)
        {
            var root = document!.RootElement;
            if (ConnectionId(root, out error) is not { } connectionId) return Replies.Error(error!);

            var user = JsonBody.OptionalString(root, "user", Users.MaxLength, out error);
            if (error is not null) return Replies.Error(error);
            // A template renders an absent query parameter as "": that is no user, not an invalid one.
            if (!string.IsNullOrEmpty(user) && !Users.IsValid(user)) return Replies.Error(400, "invalid_field", "\"user\" must not contain control characters.");
            var sourceIp = JsonBody.OptionalString(root, "source_ip", 64, out error);
            if (error is not null) return Replies.Error(error);
            var userAgent = JsonBody.OptionalString(root, "user_agent", 1024, out error);
            if (error is not null) return Replies.Error(error);
            var requestId = JsonBody.OptionalString(root, "request_id", 128, out error);
            if (error is not null) return Replies.Error(error);
            if (Rooms(root, out error) is not { } rooms) return Replies.Error(error!);
            if (ConnectedAt(root, time, out error) is not { } connectedAt) return Replies.Error(error!);

            var result = await grains.GetGrain<IConnectionGrain>(connectionId)
                .Connect(new ConnectRequest(Blank(user), rooms, connectedAt, Blank(sourceIp), Blank(userAgent), requestId));
            return Results.Json(new JsonObject
            {
                ["type"] = "connected",
                ["connectionId"] = connectionId,
                ["rooms"] = new JsonArray([.. result.Rooms.Select(r => JsonValue.Create(r))]),
            });
        }
    }

    private static async Task<IResult> DisconnectAsync(HttpRequest request, IGrainFactory grains, IOptions<IntegrationOptions> options)
    {
        var (document, error) = await JsonBody.ReadAsync(request, options.Value.MaxBodyBytes, request.HttpContext.RequestAborted);
        if (error is not null) return Replies.Error(error);
        using (document)
        {
            var root = document!.RootElement;
            if (ConnectionId(root, out error) is not { } connectionId) return Replies.Error(error!);
            var reason = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            var status = root.TryGetProperty("status_code", out var s) ? s.ToString() : null;
            var why = string.Join(' ', new[] { status, reason }.Where(x => !string.IsNullOrEmpty(x)).Select(x => x!.Length > 120 ? x[..120] : x));

            await grains.GetGrain<IConnectionGrain>(connectionId).Disconnect(why.Length == 0 ? "$disconnect" : "$disconnect " + why);
            return Results.Json(new JsonObject { ["type"] = "disconnected", ["connectionId"] = connectionId });
        }
    }

    private static async Task<IResult> HandleEventAsync(HttpRequest request, IGrainFactory grains, IOptions<IntegrationOptions> options)
    {
        var (document, error) = await JsonBody.ReadAsync(request, options.Value.MaxBodyBytes, request.HttpContext.RequestAborted);
        if (error is not null) return Replies.Error(error);
        using (document)
        {
            var root = document!.RootElement;
            if (ConnectionId(root, out error) is not { } connectionId) return Replies.Error(error!);
            var body = root.TryGetProperty("body", out var b) ? b : default;
            var (command, invalid) = ClientMessageParser.Parse(body);
            if (invalid is not null) return Replies.Error(invalid);

            var reply = await grains.GetGrain<IConnectionGrain>(connectionId).Handle(command!);
            return Replies.From(reply);
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
        var id = value.GetString();
        if (!ConnectionIds.IsValid(id))
        {
            error = new BodyError(400, "invalid_connection_id",
                $"\"connection_id\" must be 1 to {Abstractions.ConnectionIds.MaxLength} characters of A-Z, a-z, 0-9, '-', '_', '+', '/' and '='.");
            return null;
        }
        return id;
    }

    /// <summary><c>rooms</c>: a JSON array of names, or one comma-separated string (what a query-string template yields).</summary>
    private static List<string>? Rooms(JsonElement root, out BodyError? error)
    {
        error = null;
        var rooms = new List<string>();
        if (!root.TryGetProperty("rooms", out var value) || value.ValueKind == JsonValueKind.Null) return rooms;

        IEnumerable<string?> names = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            JsonValueKind.Array when value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                value.EnumerateArray().Select(e => e.GetString()),
            _ => [null],
        };
        foreach (var name in names)
        {
            if (!RoomNames.IsValid(name))
            {
                error = new BodyError(400, "invalid_room",
                    $"\"rooms\" must be an array of room names or a comma-separated string; a name is 1 to {RoomNames.MaxLength} characters without spaces or control characters.");
                return null;
            }
            if (rooms.Count == 100)
            {
                error = new BodyError(400, "invalid_room", "At most 100 rooms may be joined at connect.");
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
        long ms;
        var ok = value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetInt64(out ms),
            JsonValueKind.String => long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out ms),
            _ => (ms = 0) == 1,
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

/// <summary>Integration endpoint settings (configuration section <c>Integration</c>).</summary>
public sealed class IntegrationOptions
{
    public const string Section = "Integration";

    /// <summary>Largest request body accepted; a 128 KiB message can grow when a template escapes it.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;
}

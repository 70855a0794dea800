using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HooksApp;

var builder = WebApplication.CreateBuilder(args);
var configuration = builder.Configuration;
var secrets = configuration.GetSection("Hooks:Secrets").Get<List<string>>() ?? [];
if (configuration["Hooks:Secret"] is { Length: > 0 } single) secrets.Insert(0, single);
var blockedWords = configuration.GetSection("Moderation:BlockedWords").Get<string[]>() ?? [];
var refuseLinks = configuration.GetValue("Moderation:RefuseLinks", true);
var allowedRooms = configuration.GetSection("Rooms:Allowed").Get<string[]>() ?? [];
var allowedPrefixes = configuration.GetSection("Rooms:AllowedPrefixes").Get<string[]>() ?? [];

var app = builder.Build();
app.UseTetherSignatures(secrets);

// Who may connect: anyone but the user "mallory"; every connection gets private data its later hooks receive.
app.MapPost("/connect", (HttpContext context) =>
{
    var request = Body(context);
    var user = request["user"]?.GetValue<string>();
    if (user == "mallory") return Refuse(403, "banned", "This user may not connect.");
    return Results.Json(new JsonObject
    {
        ["data"] = new JsonObject { ["connectedAt"] = DateTimeOffset.UtcNow.ToString("O"), ["plan"] = user is null ? "guest" : "member" },
    });
});

// Room allow-list: the listed rooms, rooms with an allowed prefix, and a user's own "team-<user>".
app.MapPost("/join", (HttpContext context) =>
{
    var request = Body(context);
    var room = request["room"]!.GetValue<string>();
    var user = request["user"]?.GetValue<string>();
    var allowed = allowedRooms.Contains(room, StringComparer.Ordinal)
        || allowedPrefixes.Any(p => room.StartsWith(p, StringComparison.Ordinal))
        || (user is not null && room == "team-" + user);
    return allowed ? Results.Ok() : Refuse(403, "room_not_allowed", $"Room '{room}' is not open to you.");
});

// Moderation: links are refused, blocked words are starred out in text messages.
app.MapPost("/publish", (HttpContext context) =>
{
    var message = Body(context)["message"];
    if (message?.GetValueKind() != JsonValueKind.String) return Results.Json(new JsonObject());
    var text = message.GetValue<string>();
    if (refuseLinks && LinkPattern().IsMatch(text)) return Refuse(422, "links_not_allowed", "Links are not allowed here.");
    var cleaned = blockedWords.Aggregate(text, (current, word) =>
        Regex.Replace(current, $@"\b{Regex.Escape(word)}\b", new string('*', word.Length), RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(50)));
    return Results.Json(cleaned == text ? new JsonObject() : new JsonObject { ["message"] = cleaned });
});

// One action of the application's own: {"action":"whoami"} answers what the application knows of the connection.
app.MapPost("/rpc", (HttpContext context) =>
{
    var request = Body(context);
    return request["action"]?.GetValue<string>() switch
    {
        "whoami" => Results.Json(new JsonObject
        {
            ["type"] = "whoami",
            ["connectionId"] = request["connectionId"]?.DeepClone(),
            ["user"] = request["user"]?.DeepClone(),
            ["data"] = request["data"]?.DeepClone(),
        }),
        var other => Refuse(404, "unknown_action", $"No action '{other}'."),
    };
});

app.MapPost("/disconnect", (HttpContext context, ILogger<Program> logger) =>
{
    var request = Body(context);
    logger.LogInformation("Connection {ConnectionId} of {User} left ({Reason})",
        request["connectionId"]?.GetValue<string>(), request["user"]?.GetValue<string>(), request["reason"]?.GetValue<string>());
    return Results.Ok();
});

app.Run();

static JsonObject Body(HttpContext context) => JsonNode.Parse((byte[])context.Items[SignatureCheck.BodyItem]!)!.AsObject();

static IResult Refuse(int status, string code, string message) =>
    Results.Json(new JsonObject { ["code"] = code, ["message"] = message }, statusCode: status);

/// <summary>The sample's entry point.</summary>
internal sealed partial class Program
{
    [GeneratedRegex(@"https?://|www\.", RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 50)]
    private static partial Regex LinkPattern();
}

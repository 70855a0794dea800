using Tether.Hosting;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Tether.Api.OpenApi;

/// <summary>
/// The OpenAPI description of the integration and admin endpoints, served at <see cref="DocumentPath"/>.
/// The endpoints read their bodies leniently by hand (API Gateway may send any content type), so the schemas and
/// texts live here, keyed by method and route; a test fails when an endpoint has no entry.
/// </summary>
internal static class TetherOpenApi
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/openapi/v1.json";
    private const string ApiKeyScheme = "apiKey";
    private const string BearerScheme = "bearer";

    public static IServiceCollection AddTetherOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Tether",
                    Version = "v1",
                    Description = "Integration endpoints called by an AWS API Gateway WebSocket API's HTTP integrations, and the " +
                                  "admin REST API for other services. Health endpoints (/health/live, /health/ready) are not part of it.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An admin API key (Admin__ApiKeys__N) as a bearer token.",
                };
                document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = "X-Api-Key",
                    Description = "An admin API key in the X-Api-Key header.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var key = $"{context.Description.HttpMethod} /{context.Description.RelativePath}";
                if (!Docs.TryGetValue(key, out var doc)) return Task.CompletedTask;

                operation.Summary = doc.Summary;
                operation.Description = doc.Description;
                if (doc.Body is { } body)
                {
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Description = "JSON. The Content-Type header is not checked: API Gateway may send none or text/plain.",
                        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = body } },
                    };
                }
                operation.Responses ??= new OpenApiResponses();
                foreach (var (status, text) in doc.Responses) operation.Responses[status] = new OpenApiResponse { Description = text };
                if (key.Contains(" /api/", StringComparison.Ordinal))
                {
                    operation.Security =
                    [
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] },
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] },
                    ];
                }
                return Task.CompletedTask;
            });
        });

    public static IEndpointRouteBuilder MapTetherOpenApi(this IEndpointRouteBuilder app)
    {
        // Behind the admin API keys like every other non-health surface: the document maps the whole attack
        // surface, and nobody but operators and client developers needs it.
        app.MapOpenApi("/openapi/{documentName}.json").RequireApiKey();
        return app;
    }

    private sealed record OperationDoc(string Summary, string Description, OpenApiSchema? Body, Dictionary<string, string> Responses);

    private static OpenApiSchema Str(string description) => new() { Type = JsonSchemaType.String, Description = description };

    private static OpenApiSchema Obj(string description, Dictionary<string, IOpenApiSchema> properties, params string[] required) => new()
    {
        Type = JsonSchemaType.Object,
        Description = description,
        Properties = properties,
        Required = new HashSet<string>(required, StringComparer.Ordinal),
    };

    private static readonly OpenApiSchema AnyJson = new() { Description = "Any JSON value; delivered unchanged as the envelope's body." };

    private static readonly OpenApiSchema MessageBody = Obj("The message to deliver.", new() { ["message"] = AnyJson }, "message");

    private const string ConnectionIdText = "API Gateway's connection id ($context.connectionId): 1 to 128 characters of A-Z, a-z, 0-9, '-', '_', '+', '/', '='.";

    private static readonly Dictionary<string, string> IntegrationErrors = new()
    {
        ["400"] = "Invalid body: {\"type\":\"error\",\"code\":\"invalid_json|invalid_connection_id|invalid_field|…\",\"message\":\"…\"}.",
        ["401"] = "The integration secret header is missing or wrong (when a secret is configured).",
        ["413"] = "The request body is over Integration__MaxBodyBytes.",
        ["503"] = "draining or cluster_unavailable, in the same error shape, with Retry-After: try again (another node); too_late or overloaded (delivery backed up; Retry-After): the message was not processed, send it again.",
    };

    private static Dictionary<string, string> With(Dictionary<string, string> common, params (string Status, string Text)[] extra)
    {
        var all = new Dictionary<string, string>(common);
        foreach (var (status, text) in extra) all[status] = text;
        return all;
    }

    private static readonly Dictionary<string, string> AdminErrors = new()
    {
        ["400"] = "Invalid path parameter or body (ProblemDetails).",
        ["401"] = "No valid API key (ProblemDetails); also when no key is configured at all.",
        ["503"] = "ProblemDetails with code draining or cluster_unavailable, and Retry-After: try again (another node); overloaded: delivery is backed up, the message was not processed, send it again after Retry-After.",
    };

    private static readonly OperationDoc Disconnect = new(
        "$disconnect: forget a connection",
        "Removes the connection from its rooms and user. Idempotent: an unknown id also answers 200. API Gateway sends " +
        "$disconnect on a best-effort basis; stale ids are also removed when a post answers 410.",
        Obj("$disconnect integration body.", new()
        {
            ["connection_id"] = Str(ConnectionIdText),
            ["status_code"] = Str("$context.disconnectStatusCode (optional)."),
            ["reason"] = Str("$context.disconnectReason (optional)."),
        }, "connection_id"),
        With(IntegrationErrors, ("200", "{\"type\":\"disconnected\",\"connectionId\":\"…\"}")));

    private static readonly Dictionary<string, OperationDoc> Docs = new(StringComparer.Ordinal)
    {
        ["POST /connect"] = new(
            "$connect: register a connection",
            "Called by the $connect route's HTTP integration. The connection joins the default room and any rooms asked for. " +
            "A non-2xx answer makes API Gateway refuse the WebSocket. Sec-WebSocket-* headers are accepted.",
            Obj("$connect integration body (the seed's {\"connection_id\"} alone is enough).", new()
            {
                ["connection_id"] = Str(ConnectionIdText),
                ["user"] = Str("The authenticated user id, if any."),
                ["token"] = Str("An end-user token from the query string, when end-user authentication is configured."),
                ["rooms"] = new OpenApiSchema { Description = "Rooms to join: an array of names or one comma-separated string." },
                ["source_ip"] = Str("$context.identity.sourceIp."),
                ["user_agent"] = Str("$context.identity.userAgent."),
                ["connected_at"] = new OpenApiSchema { Description = "$context.connectedAt: epoch milliseconds (number or numeric string)." },
                ["request_id"] = Str("$context.requestId, logged with the request."),
            }, "connection_id"),
            With(IntegrationErrors,
                ("200", "Accepted: {\"type\":\"connected\",\"connectionId\":\"…\",\"rooms\":[…]}."),
                ("403", "Refused by end-user authentication (API Gateway then refuses the WebSocket)."))),
        ["DELETE /disconnect"] = Disconnect,
        ["POST /disconnect"] = Disconnect,
        ["POST /handle-event"] = new(
            "$default and custom routes: handle a client message",
            "Joins (optionally from a position: since), leaves, sends to a room, to a connection or to a user's connections, " +
            "resumes, reads a room's history, answers ping. Anything else carrying a \"message\" goes to the default room. " +
            "A \"requestId\" is echoed in the reply and makes a send idempotent for 5 minutes. The reply reaches the sender " +
            "only on a two-way route.",
            Obj("Message integration body.", new()
            {
                ["connection_id"] = Str(ConnectionIdText),
                ["body"] = new OpenApiSchema
                {
                    Description = "The client's message: a JSON object such as {\"action\":\"sendmessage\",\"room\":\"r\",\"message\":…}, " +
                                  "a JSON string holding such an object, or plain text (a chat message for the default room).",
                },
                ["route"] = Str("$context.routeKey (optional)."),
                ["request_id"] = Str("$context.requestId (optional), logged with the request."),
                ["message_id"] = Str("$context.messageId (optional)."),
            }, "connection_id"),
            With(IntegrationErrors,
                ("200", "{\"type\":\"joined\"|\"left\"|\"sent\"|\"resumed\"|\"history\"|\"pong\",…} for the sender."),
                ("403", "not_in_room: join the room before sending to it or reading its history."),
                ("404", "unknown_connection or recipient_not_found."),
                ("409", "not_in_room: leaving a room the connection is not in."))),
        ["POST /api/rooms/{room}/messages"] = new(
            "Send a message to a room",
            "Delivers to every member. With ?wait=true (and optional timeoutSeconds, capped by Admin__MaxWait) answers once " +
            "every delivery has ended, with counts per outcome.",
            MessageBody,
            With(AdminErrors,
                ("202", "{\"id\",\"recipients\",\"seq\",\"epoch\"} — stored and queued; or with wait=true, not finished within the timeout (\"complete\":false)."),
                ("200", "With wait=true: {\"id\",\"recipients\",\"seq\",\"epoch\",\"delivered\",\"gone\",\"failed\",\"complete\":true}."),
                ("413", "message_too_large: over API Gateway's 128 KiB with the envelope."))),
        ["GET /api/rooms/{room}/messages"] = new(
            "Read a room's history (paged by seq)",
            "Stored messages with seq > ?since= (default 0), ascending, at most ?limit= (1 to 1000, default 100); pass the " +
            "last item's seq as since for the next page while \"more\" is true.",
            null, With(AdminErrors, ("200", "{\"room\",\"epoch\",\"seq\",\"items\":[envelopes],\"more\"}"))),
        ["GET /api/rooms/{room}"] = new(
            "Count a room's members", "Answers {\"room\",\"members\":N}; an unknown room has 0 members.", null,
            With(AdminErrors, ("200", "{\"room\",\"members\"}"))),
        ["GET /api/rooms/{room}/members"] = new(
            "List a room's members (paged)",
            "Connection ids in ordinal order; pass the answer's \"next\" as ?after= for the next page; ?limit= is 1 to 1000 (default 100).",
            null, With(AdminErrors, ("200", "{\"room\",\"members\":N,\"items\":[…],\"next\":…}"))),
        ["POST /api/connections/{id}/messages"] = new(
            "Send a message to one connection", "The id is percent-encoded in the path ('/' as %2F, '=' as %3D).", MessageBody,
            With(AdminErrors, ("202", "{\"id\",\"recipients\":1}"), ("404", "No such connection."), ("413", "message_too_large."))),
        ["POST /api/users/{user}/messages"] = new(
            "Send a message to every connection of a user", "Delivers to each of the user's current connections.", MessageBody,
            With(AdminErrors, ("202", "{\"id\",\"recipients\",\"seq\",\"epoch\"}"), ("404", "The user has no connection."), ("413", "message_too_large."))),
        ["GET /api/connections/{id}"] = new(
            "Describe a connection", "What Tether knows about it: user, rooms, connectedAt, sourceIp, userAgent.", null,
            With(AdminErrors, ("200", "{\"connectionId\",\"user\",\"rooms\",\"connectedAt\",\"sourceIp\",\"userAgent\"}"), ("404", "No such connection."))),
        ["DELETE /api/connections/{id}"] = new(
            "Close a connection",
            "Asks API Gateway to close the socket (DeleteConnection), then forgets the connection. A connection API Gateway no " +
            "longer has (410) is forgotten too.",
            null,
            With(AdminErrors, ("204", "Closed and forgotten."), ("502", "API Gateway did not close it (e.g. 403: check the Management API configuration)."))),
    };

    /// <summary>For the test: every operation this document describes.</summary>
    internal static IReadOnlyCollection<string> DocumentedOperations => Docs.Keys;
}

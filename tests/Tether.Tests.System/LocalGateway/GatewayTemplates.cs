using System.Text.Json.Nodes;

namespace Tether.Tests.LocalGateway;

/// <summary>Small CloudFormation templates for the gateway's own tests, built the way the real one is.</summary>
internal static class GatewayTemplates
{
    public const string EventTemplate = """{"connection_id":"$context.connectionId","route":"$context.routeKey","body":"$util.escapeJavaScript($input.body)"}""";

    /// <summary>An API with the given routes (key → (path, two-way)), each an HTTP integration to {BackendUrl}{path}.</summary>
    public static string Api(IEnumerable<(string Key, string Path, bool TwoWay)> routes, int timeoutMs = 29000, string? responseKey = "$default")
    {
        var resources = new JsonObject
        {
            ["Api"] = new JsonObject
            {
                ["Type"] = "AWS::ApiGatewayV2::Api",
                ["Properties"] = new JsonObject { ["Name"] = "test", ["ProtocolType"] = "WEBSOCKET", ["RouteSelectionExpression"] = "$request.body.action" },
            },
        };
        var n = 0;
        foreach (var (key, path, twoWay) in routes)
        {
            n++;
            var template = key switch
            {
                "$connect" => """{"connection_id":"$context.connectionId","token":"$input.params('token')","agent":"$context.identity.userAgent"}""",
                "$disconnect" => """{"connection_id":"$context.connectionId","status_code":"$context.disconnectStatusCode","reason":"$context.disconnectReason"}""",
                _ => EventTemplate,
            };
            resources[$"Integration{n}"] = new JsonObject
            {
                ["Type"] = "AWS::ApiGatewayV2::Integration",
                ["Properties"] = new JsonObject
                {
                    ["ApiId"] = new JsonObject { ["Ref"] = "Api" },
                    ["IntegrationType"] = "HTTP",
                    ["IntegrationMethod"] = "POST",
                    ["IntegrationUri"] = new JsonObject { ["Fn::Sub"] = "${BackendUrl}" + path },
                    ["TimeoutInMillis"] = timeoutMs,
                    ["TemplateSelectionExpression"] = "\\$default",
                    ["RequestTemplates"] = new JsonObject { ["$default"] = template },
                },
            };
            resources[$"Route{n}"] = new JsonObject
            {
                ["Type"] = "AWS::ApiGatewayV2::Route",
                ["Properties"] = new JsonObject
                {
                    ["ApiId"] = new JsonObject { ["Ref"] = "Api" },
                    ["RouteKey"] = key,
                    ["Target"] = new JsonObject { ["Fn::Join"] = new JsonArray("/", new JsonArray("integrations", new JsonObject { ["Ref"] = $"Integration{n}" })) },
                },
            };
            if (!twoWay) continue;
            resources[$"Route{n}"]!["Properties"]!["RouteResponseSelectionExpression"] = "$default";
            resources[$"RouteResponse{n}"] = new JsonObject
            {
                ["Type"] = "AWS::ApiGatewayV2::RouteResponse",
                ["Properties"] = new JsonObject { ["ApiId"] = new JsonObject { ["Ref"] = "Api" }, ["RouteId"] = new JsonObject { ["Ref"] = $"Route{n}" }, ["RouteResponseKey"] = "$default" },
            };
            resources[$"IntegrationResponse{n}"] = new JsonObject
            {
                ["Type"] = "AWS::ApiGatewayV2::IntegrationResponse",
                ["Properties"] = new JsonObject { ["ApiId"] = new JsonObject { ["Ref"] = "Api" }, ["IntegrationId"] = new JsonObject { ["Ref"] = $"Integration{n}" }, ["IntegrationResponseKey"] = responseKey },
            };
        }
        return new JsonObject
        {
            ["Parameters"] = new JsonObject { ["BackendUrl"] = new JsonObject { ["Type"] = "String" } },
            ["Resources"] = resources,
        }.ToJsonString();
    }
}

using System.Text.RegularExpressions;

namespace Tether.LocalGateway.Template;

/// <summary>The WebSocket API a CloudFormation template describes, as the local gateway runs it.</summary>
public sealed record GatewayDefinition(
    string ApiName,
    string RouteSelectionExpression,
    IReadOnlyDictionary<string, GatewayRoute> Routes,
    IReadOnlyDictionary<string, string> StageVariables,
    double? ThrottlingRateLimit,
    int? ThrottlingBurstLimit)
{
    /// <summary>The JSON path of <c>$request.body.a.b</c>: <c>["a", "b"]</c>.</summary>
    public IReadOnlyList<string> RouteSelectionPath { get; } = RouteSelectionExpression["$request.body.".Length..].Split('.');

    /// <summary>The route for a client message: the selection expression's value when a route has that key, else <c>$default</c> (null when there is none).</summary>
    public GatewayRoute? SelectRoute(string body)
    {
        var key = RouteKeys.Select(body, RouteSelectionPath);
        if (key is not null && key is not ("$connect" or "$disconnect" or "$default") && Routes.TryGetValue(key, out var route)) return route;
        return Routes.GetValueOrDefault("$default");
    }
}

/// <summary>A route and the integration it targets; <see cref="TwoWay"/> when the backend's answer goes back to the client.</summary>
public sealed record GatewayRoute(string RouteKey, GatewayIntegration Integration, bool TwoWay);

public enum PassthroughBehavior { WhenNoMatch, Never, WhenNoTemplates }

/// <summary>An HTTP integration: where to call, the request template and parameters, and which answers reach the client.</summary>
public sealed record GatewayIntegration(
    string Name,
    bool Proxy,
    HttpMethod Method,
    string Uri,
    RequestTemplate? Template,
    bool HasTemplates,
    PassthroughBehavior Passthrough,
    IReadOnlyList<RequestParameter> Parameters,
    TimeSpan Timeout,
    IReadOnlyList<IntegrationResponseKey> Responses)
{
    /// <summary>Whether an answer with <paramref name="status"/> matches an integration response (so a two-way route forwards it).</summary>
    public bool MatchesResponse(int status) => Responses.Any(r => r.Matches(status));
}

/// <summary><c>$default</c> or a <c>/regex/</c> over the status code.</summary>
public sealed record IntegrationResponseKey(string Key, Regex? Pattern)
{
    public bool Matches(int status) => Pattern is null || Pattern.IsMatch(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

public enum ParameterTarget { Header, QueryString }

public enum ParameterSourceKind { Static, StageVariable, RequestHeader, RequestQueryString, Context }

/// <summary><c>integration.request.header.X: source</c>: where one outgoing header or query parameter comes from.</summary>
public sealed record RequestParameter(ParameterTarget Target, string Name, ParameterSourceKind Source, string Value);

internal static class RouteKeys
{
    /// <summary>The value at <paramref name="path"/> in a JSON body; null when the body is not JSON or has no such value.</summary>
    public static string? Select(string body, IReadOnlyList<string> path)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            var element = document.RootElement;
            foreach (var segment in path)
            {
                if (element.ValueKind != System.Text.Json.JsonValueKind.Object || !element.TryGetProperty(segment, out element)) return null;
            }
            return element.ValueKind switch
            {
                System.Text.Json.JsonValueKind.String => element.GetString(),
                System.Text.Json.JsonValueKind.Number or System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => element.GetRawText(),
                _ => null,
            };
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

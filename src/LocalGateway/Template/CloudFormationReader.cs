using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tether.LocalGateway.Template;

/// <summary>
/// Reads the WebSocket API out of a CloudFormation template (JSON): the Api's route selection expression, its
/// routes, HTTP integrations (request templates, request parameters, timeouts), route and integration responses,
/// and the stage's variables. Intrinsics are resolved the way CloudFormation would for the given parameter values:
/// <c>Ref</c>, <c>Fn::Sub</c>, <c>Fn::Join</c>; resources resolve to their logical ids.
/// </summary>
public static class CloudFormationReader
{
    public static GatewayDefinition Read(
        string json,
        string templateName,
        IReadOnlyDictionary<string, string> parameters,
        IReadOnlyDictionary<string, string> stageVariableOverrides,
        string region)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new GatewayConfigurationException($"Template {templateName} is not valid JSON: {e.Message}");
        }
        using (document)
        {
            return new Reader(document.RootElement, templateName, parameters, stageVariableOverrides, region).Read();
        }
    }

    private sealed class Reader(
        JsonElement root, string templateName, IReadOnlyDictionary<string, string> parameterOverrides,
        IReadOnlyDictionary<string, string> stageVariableOverrides, string region)
    {
        private readonly Dictionary<string, JsonElement> _resources = [];
        private readonly Dictionary<string, string?> _parameters = new(StringComparer.Ordinal);

        public GatewayDefinition Read()
        {
            if (!root.TryGetProperty("Resources", out var resources) || resources.ValueKind != JsonValueKind.Object)
            {
                throw Error("has no Resources.");
            }
            foreach (var resource in resources.EnumerateObject()) _resources[resource.Name] = resource.Value;
            ReadParameters();

            var apis = OfType("AWS::ApiGatewayV2::Api").ToList();
            if (apis.Count != 1) throw Error($"must define exactly one AWS::ApiGatewayV2::Api (found {apis.Count}).");
            var (apiId, api) = apis[0];
            if (String(api, "ProtocolType") != "WEBSOCKET") throw Error($"{apiId}: ProtocolType must be WEBSOCKET.");
            var selection = String(api, "RouteSelectionExpression") ?? throw Error($"{apiId}: RouteSelectionExpression is required.");
            if (!Regex.IsMatch(selection, @"^\$request\.body(\.[A-Za-z0-9_]+)+$", RegexOptions.CultureInvariant))
            {
                throw Error($"{apiId}: the route selection expression '{selection}' is not supported (only $request.body.<field>[.<field>…]).");
            }

            var stageVariables = ReadStageVariables(apiId);
            var integrations = OfType("AWS::ApiGatewayV2::Integration").Where(r => BelongsTo(r.Properties, apiId))
                .ToDictionary(r => r.Id, r => ReadIntegration(r.Id, r.Properties, stageVariables), StringComparer.Ordinal);
            var twoWayRoutes = OfType("AWS::ApiGatewayV2::RouteResponse").Where(r => BelongsTo(r.Properties, apiId))
                .Select(r => (Route: String(r.Properties, "RouteId"), Key: String(r.Properties, "RouteResponseKey")))
                .Where(r => r.Key == "$default").Select(r => r.Route).ToHashSet(StringComparer.Ordinal);

            var routes = new Dictionary<string, GatewayRoute>(StringComparer.Ordinal);
            foreach (var (routeId, properties) in OfType("AWS::ApiGatewayV2::Route").Where(r => BelongsTo(r.Properties, apiId)))
            {
                var key = String(properties, "RouteKey") ?? throw Error($"{routeId}: RouteKey is required.");
                var target = String(properties, "Target") ?? throw Error($"{routeId}: Target is required (a route without an integration cannot be emulated).");
                if (!target.StartsWith("integrations/", StringComparison.Ordinal) || !integrations.TryGetValue(target["integrations/".Length..], out var integration))
                {
                    throw Error($"{routeId}: Target '{target}' is not integrations/{{an integration of this template}}.");
                }
                var authorization = String(properties, "AuthorizationType");
                if (authorization is not (null or "NONE")) throw Error($"{routeId}: AuthorizationType {authorization} is not supported by the local gateway (authenticate in the $connect integration).");
                var selectionExpression = String(properties, "RouteResponseSelectionExpression");
                if (selectionExpression is not (null or "$default")) throw Error($"{routeId}: RouteResponseSelectionExpression must be $default for a WebSocket API.");
                var twoWay = selectionExpression is not null && twoWayRoutes.Contains(routeId) && integration.Responses.Count > 0;
                if (!routes.TryAdd(key, new GatewayRoute(key, integration, twoWay))) throw Error($"the route key {key} is defined twice.");
            }
            if (routes.Count == 0) throw Error("defines no AWS::ApiGatewayV2::Route.");

            var (rate, burst) = ReadThrottling(apiId);
            return new GatewayDefinition(String(api, "Name") ?? apiId, selection, routes, stageVariables, rate, burst);
        }

        private void ReadParameters()
        {
            if (!root.TryGetProperty("Parameters", out var parameters)) return;
            foreach (var parameter in parameters.EnumerateObject())
            {
                _parameters[parameter.Name] = parameterOverrides.TryGetValue(parameter.Name, out var value)
                    ? value
                    : parameter.Value.TryGetProperty("Default", out var @default) ? Scalar(@default) : null;
            }
            foreach (var name in parameterOverrides.Keys.Where(n => !_parameters.ContainsKey(n)))
            {
                throw Error($"declares no parameter {name}, but a value was given for it.");
            }
        }

        private Dictionary<string, string> ReadStageVariables(string apiId)
        {
            var stages = OfType("AWS::ApiGatewayV2::Stage").Where(r => BelongsTo(r.Properties, apiId)).ToList();
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            if (stages.Count > 0 && stages[0].Properties.TryGetProperty("StageVariables", out var declared))
            {
                foreach (var variable in declared.EnumerateObject().Where(v => !stageVariableOverrides.ContainsKey(v.Name)))
                {
                    variables[variable.Name] = Resolve(variable.Value, $"Stage.StageVariables.{variable.Name}");
                }
            }
            foreach (var (name, value) in stageVariableOverrides) variables[name] = value;
            return variables;
        }

        private (double?, int?) ReadThrottling(string apiId)
        {
            var stage = OfType("AWS::ApiGatewayV2::Stage").FirstOrDefault(r => BelongsTo(r.Properties, apiId));
            if (stage.Id is null || !stage.Properties.TryGetProperty("DefaultRouteSettings", out var settings)) return (null, null);
            double? rate = settings.TryGetProperty("ThrottlingRateLimit", out var r)
                ? double.Parse(Resolve(r, "ThrottlingRateLimit"), CultureInfo.InvariantCulture) : null;
            int? burst = settings.TryGetProperty("ThrottlingBurstLimit", out var b)
                ? int.Parse(Resolve(b, "ThrottlingBurstLimit"), CultureInfo.InvariantCulture) : null;
            return (rate, burst);
        }

        private GatewayIntegration ReadIntegration(string id, JsonElement properties, IReadOnlyDictionary<string, string> stageVariables)
        {
            var type = String(properties, "IntegrationType");
            if (type is not ("HTTP" or "HTTP_PROXY"))
            {
                throw Error($"{id}: IntegrationType {type} is not supported by the local gateway (only HTTP and HTTP_PROXY integrations).");
            }
            if (properties.TryGetProperty("ConnectionType", out _) && String(properties, "ConnectionType") != "INTERNET")
            {
                throw Error($"{id}: a VPC link integration cannot be emulated; the local gateway calls the backend URL directly.");
            }
            var uri = Regex.Replace(String(properties, "IntegrationUri") ?? throw Error($"{id}: IntegrationUri is required."),
                @"\$\{stageVariables\.([A-Za-z0-9_]+)\}", m => stageVariables.GetValueOrDefault(m.Groups[1].Value, ""));
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
            {
                throw Error($"{id}: IntegrationUri '{uri}' is not an absolute http(s) URL (is the BackendUrl parameter set?).");
            }
            var method = String(properties, "IntegrationMethod") ?? "POST";

            RequestTemplate? template = null;
            var hasTemplates = false;
            if (properties.TryGetProperty("RequestTemplates", out var templates))
            {
                var selection = String(properties, "TemplateSelectionExpression");
                if (selection is not (null or "\\$default" or "$default"))
                {
                    throw Error($"{id}: TemplateSelectionExpression '{selection}' is not supported (use \\$default with a template keyed $default).");
                }
                foreach (var entry in templates.EnumerateObject())
                {
                    hasTemplates = true;
                    var text = Resolve(entry.Value, $"{id}.RequestTemplates.{entry.Name}");
                    var parsedTemplate = RequestTemplate.Parse($"{templateName} {id}.RequestTemplates[{entry.Name}]", text);
                    if (entry.Name == "$default") template = parsedTemplate;
                }
            }
            if (type == "HTTP_PROXY" && hasTemplates) throw Error($"{id}: an HTTP_PROXY integration cannot have request templates.");

            var passthrough = String(properties, "PassthroughBehavior") switch
            {
                null or "WHEN_NO_MATCH" => PassthroughBehavior.WhenNoMatch,
                "NEVER" => PassthroughBehavior.Never,
                "WHEN_NO_TEMPLATES" => PassthroughBehavior.WhenNoTemplates,
                var other => throw Error($"{id}: PassthroughBehavior {other} is unknown."),
            };

            var parameters = new List<RequestParameter>();
            if (properties.TryGetProperty("RequestParameters", out var requestParameters))
            {
                foreach (var entry in requestParameters.EnumerateObject())
                {
                    parameters.Add(ReadParameter(id, entry.Name, Resolve(entry.Value, $"{id}.RequestParameters.{entry.Name}")));
                }
            }

            var timeoutMs = properties.TryGetProperty("TimeoutInMillis", out var t) ? int.Parse(Resolve(t, "TimeoutInMillis"), CultureInfo.InvariantCulture) : 29_000;
            if (timeoutMs is < 50 or > 29_000) throw Error($"{id}: TimeoutInMillis must be 50 to 29000 for a WebSocket API (it is {timeoutMs}).");

            var responses = OfType("AWS::ApiGatewayV2::IntegrationResponse")
                .Where(r => String(r.Properties, "IntegrationId") == id)
                .Select(r => ReadIntegrationResponse(r.Id, r.Properties)).ToList();

            return new GatewayIntegration(id, type == "HTTP_PROXY", new HttpMethod(method), uri, template, hasTemplates, passthrough, parameters,
                TimeSpan.FromMilliseconds(timeoutMs), responses);
        }

        private IntegrationResponseKey ReadIntegrationResponse(string id, JsonElement properties)
        {
            if (properties.TryGetProperty("ResponseTemplates", out _) || properties.TryGetProperty("ResponseParameters", out _))
            {
                throw Error($"{id}: response templates and parameters are not supported by the local gateway (the backend's body is forwarded as is).");
            }
            var key = String(properties, "IntegrationResponseKey") ?? throw Error($"{id}: IntegrationResponseKey is required.");
            if (key == "$default") return new IntegrationResponseKey(key, null);
            if (key.Length > 2 && key[0] == '/' && key[^1] == '/')
            {
                return new IntegrationResponseKey(key, new Regex("^(?:" + key[1..^1] + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)));
            }
            throw Error($"{id}: IntegrationResponseKey '{key}' must be $default or a /regex/ over the status code.");
        }

        private RequestParameter ReadParameter(string integration, string name, string source)
        {
            var (target, targetName) = name switch
            {
                _ when name.StartsWith("integration.request.header.", StringComparison.Ordinal) => (ParameterTarget.Header, name["integration.request.header.".Length..]),
                _ when name.StartsWith("integration.request.querystring.", StringComparison.Ordinal) => (ParameterTarget.QueryString, name["integration.request.querystring.".Length..]),
                _ => throw Error($"{integration}: request parameter '{name}' is not supported (integration.request.header.* and integration.request.querystring.* are)."),
            };
            if (source.Length >= 2 && source[0] == '\'' && source[^1] == '\'') return new RequestParameter(target, targetName, ParameterSourceKind.Static, source[1..^1]);
            if (source.StartsWith("stageVariables.", StringComparison.Ordinal)) return new RequestParameter(target, targetName, ParameterSourceKind.StageVariable, source["stageVariables.".Length..]);
            if (source.StartsWith("route.request.header.", StringComparison.Ordinal)) return new RequestParameter(target, targetName, ParameterSourceKind.RequestHeader, source["route.request.header.".Length..]);
            if (source.StartsWith("route.request.querystring.", StringComparison.Ordinal)) return new RequestParameter(target, targetName, ParameterSourceKind.RequestQueryString, source["route.request.querystring.".Length..]);
            if (source.StartsWith("context.", StringComparison.Ordinal) && RequestTemplate.ContextVariables.Contains(source["context.".Length..]))
            {
                return new RequestParameter(target, targetName, ParameterSourceKind.Context, source["context.".Length..]);
            }
            throw Error($"{integration}: the source '{source}' of request parameter '{name}' is not supported ('static', stageVariables.*, route.request.header.*, route.request.querystring.*, context.*).");
        }

        private IEnumerable<(string Id, JsonElement Properties)> OfType(string type) =>
            _resources.Where(r => r.Value.TryGetProperty("Type", out var t) && t.GetString() == type)
                .Select(r => (r.Key, r.Value.TryGetProperty("Properties", out var p) ? p : default))
                .OrderBy(r => r.Key, StringComparer.Ordinal);

        private bool BelongsTo(JsonElement properties, string apiId) => String(properties, "ApiId") == apiId;

        private string? String(JsonElement properties, string name) =>
            properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var value) ? Resolve(value, name) : null;

        /// <summary>A property's value with intrinsics resolved, as a string.</summary>
        private string Resolve(JsonElement value, string where)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    return Scalar(value);
                case JsonValueKind.Object:
                    var properties = value.EnumerateObject().ToList();
                    if (properties.Count == 1)
                    {
                        var (function, argument) = (properties[0].Name, properties[0].Value);
                        switch (function)
                        {
                            case "Ref":
                                return Ref(argument.GetString()!, where);
                            case "Fn::Sub":
                                return Sub(argument, where);
                            case "Fn::Join" when argument.ValueKind == JsonValueKind.Array && argument.GetArrayLength() == 2:
                                return string.Join(argument[0].GetString(), argument[1].EnumerateArray().Select(e => Resolve(e, where)));
                            case "Fn::GetAtt" when argument.ValueKind == JsonValueKind.Array:
                                return string.Join('.', argument.EnumerateArray().Select(e => e.GetString()));
                        }
                        if (function.StartsWith("Fn::", StringComparison.Ordinal) || function == "Condition")
                        {
                            throw Error($"{where}: the intrinsic {function} is not supported by the local gateway (Ref, Fn::Sub, Fn::Join and Fn::GetAtt are).");
                        }
                    }
                    throw Error($"{where}: an object where a value was expected.");
                default:
                    throw Error($"{where}: a {value.ValueKind} where a value was expected.");
            }
        }

        private string Ref(string name, string where)
        {
            if (_parameters.TryGetValue(name, out var value))
            {
                return value ?? throw Error(
                    $"{where}: the parameter {name} has no default and no value was given. Set it with LocalGateway:Parameters:{name} (environment LocalGateway__Parameters__{name}).");
            }
            return name switch
            {
                "AWS::Region" => region,
                "AWS::AccountId" => "000000000000",
                "AWS::Partition" => "aws",
                "AWS::URLSuffix" => "amazonaws.com",
                "AWS::StackName" => "tether-local",
                "AWS::NoValue" => throw Error($"{where}: AWS::NoValue is not supported."),
                _ when _resources.ContainsKey(name) => name,
                _ => throw Error($"{where}: Ref to {name}, which is neither a parameter nor a resource."),
            };
        }

        private string Sub(JsonElement argument, string where)
        {
            string text;
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            if (argument.ValueKind == JsonValueKind.String)
            {
                text = argument.GetString()!;
            }
            else if (argument.ValueKind == JsonValueKind.Array && argument.GetArrayLength() == 2)
            {
                text = argument[0].GetString()!;
                foreach (var variable in argument[1].EnumerateObject()) variables[variable.Name] = Resolve(variable.Value, where);
            }
            else
            {
                throw Error($"{where}: Fn::Sub takes a string or [string, {{variables}}].");
            }

            var result = new StringBuilder();
            var at = 0;
            while (at < text.Length)
            {
                var open = text.IndexOf("${", at, StringComparison.Ordinal);
                if (open < 0) { result.Append(text, at, text.Length - at); break; }
                result.Append(text, at, open - at);
                var close = text.IndexOf('}', open);
                if (close < 0) throw Error($"{where}: unterminated ${{ in Fn::Sub.");
                var name = text[(open + 2)..close];
                if (name.StartsWith('!')) result.Append("${").Append(name[1..]).Append('}');
                else if (variables.TryGetValue(name, out var value)) result.Append(value);
                else if (name.Contains('.', StringComparison.Ordinal) && !name.StartsWith("AWS::", StringComparison.Ordinal)) result.Append(name);
                else result.Append(Ref(name, where));
                at = close + 1;
            }
            return result.ToString();
        }

        private static string Scalar(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

        private GatewayConfigurationException Error(string message) => new($"Template {templateName}: {message}");
    }
}

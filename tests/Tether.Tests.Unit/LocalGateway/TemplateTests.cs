using System.Text.Json;
using System.Text.Json.Nodes;
using Tether.LocalGateway;
using Tether.LocalGateway.Template;

namespace Tether.Tests.LocalGateway;

/// <summary>The deployed template as the local gateway reads it, and the VTL subset its request templates use.</summary>
public sealed class TemplateTests
{
    private static GatewayDefinition Deployed(Dictionary<string, string>? stageVariables = null) =>
        CloudFormationReader.Read(LocalGatewayServer.ReadDefaultTemplate(), "infra", new Dictionary<string, string> { ["BackendUrl"] = "https://backend.example.com" },
            stageVariables ?? new Dictionary<string, string> { ["integrationSecret"] = "s3cret" }, "eu-west-1");

    private static TemplateInput Input(string body = "", Dictionary<string, string>? query = null, string userAgent = "wscat/6") => new()
    {
        Context = RequestTemplate.ContextVariables.ToDictionary(v => v, v => v switch
        {
            "connectionId" => "R0oXAdfD0kwCH6w=",
            "connectedAt" => "1764000000000",
            "identity.userAgent" => userAgent,
            "disconnectStatusCode" => "1001",
            "disconnectReason" => "Going away (idle timeout)",
            _ => "x",
        }),
        StageVariables = new Dictionary<string, string>(),
        Body = body,
        Query = query ?? [],
    };

    [Fact]
    public void The_deployed_template_has_the_three_routes_with_a_two_way_default_and_the_secret_header()
    {
        var api = Deployed();

        Assert.Equal("$request.body.action", api.RouteSelectionExpression);
        Assert.Equal(["$connect", "$default", "$disconnect"], api.Routes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("https://backend.example.com/connect", false), (api.Routes["$connect"].Integration.Uri, api.Routes["$connect"].TwoWay));
        Assert.Equal(("https://backend.example.com/handle-event", true), (api.Routes["$default"].Integration.Uri, api.Routes["$default"].TwoWay));
        Assert.Equal("https://backend.example.com/disconnect", api.Routes["$disconnect"].Integration.Uri);
        Assert.All(api.Routes.Values, r => Assert.Contains(r.Integration.Parameters,
            p => p is { Target: ParameterTarget.Header, Name: "X-Gateway-Secret", Source: ParameterSourceKind.StageVariable, Value: "integrationSecret" }));
        Assert.Equal("s3cret", api.StageVariables["integrationSecret"]);
        Assert.Equal((1000d, 2000), (api.ThrottlingRateLimit, api.ThrottlingBurstLimit));
        Assert.All(api.Routes.Values, r => Assert.Equal(TimeSpan.FromSeconds(29), r.Integration.Timeout));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain text with 'single' and \"double\" quotes")]
    [InlineData("{\"action\":\"sendmessage\",\"room\":\"r\",\"message\":{\"t\":\"it's\"}}")]
    [InlineData("ünïcødé ✓ \\ / \t tab\nnewline \u0001")]
    public void The_default_template_renders_valid_json_carrying_the_message_exactly(string message)
    {
        var rendered = Deployed().Routes["$default"].Integration.Template!.Render(Input(message));

        var body = JsonNode.Parse(rendered)!;
        Assert.Equal(message, body["body"]!.GetValue<string>());
        Assert.Equal("R0oXAdfD0kwCH6w=", body["connection_id"]!.GetValue<string>());
        Assert.Equal("x", body["route"]!.GetValue<string>());
    }

    [Fact]
    public void The_connect_and_disconnect_templates_render_valid_json_without_a_body()
    {
        var api = Deployed();

        var connect = JsonNode.Parse(api.Routes["$connect"].Integration.Template!.Render(
            Input(query: new() { ["rooms"] = "a,b", ["token"] = "t'k\"n" }, userAgent: "Mozilla/5.0 (it's \"quoted\")")))!;
        var disconnect = JsonNode.Parse(api.Routes["$disconnect"].Integration.Template!.Render(Input()))!;
        var bare = JsonNode.Parse(api.Routes["$connect"].Integration.Template!.Render(Input()))!;

        Assert.Equal(("a,b", "t'k\"n", "Mozilla/5.0 (it's \"quoted\")", 1764000000000L),
            (connect["rooms"]!.GetValue<string>(), connect["token"]!.GetValue<string>(), connect["user_agent"]!.GetValue<string>(), connect["connected_at"]!.GetValue<long>()));
        Assert.False(connect.AsObject().ContainsKey("body"));
        Assert.Equal(("", ""), (bare["rooms"]!.GetValue<string>(), bare["token"]!.GetValue<string>()));
        Assert.Equal(("1001", "Going away (idle timeout)"), (disconnect["status_code"]!.GetValue<string>(), disconnect["reason"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("0", false)]
    [InlineData("yes", false)]
    [InlineData("1\"}", false)]
    public void The_connect_template_passes_batch_from_the_query_string_as_a_json_boolean(string? query, bool expected)
    {
        var template = Deployed().Routes["$connect"].Integration.Template!;

        var rendered = JsonNode.Parse(template.Render(Input(query: query is null ? null : new() { ["batch"] = query })))!;

        Assert.Equal(expected ? JsonValueKind.True : JsonValueKind.False, rendered["batch"]!.GetValueKind());
    }

    [Theory]
    [InlineData("1", "true")]
    [InlineData("true", "true")]
    [InlineData("11", "false")]
    [InlineData("x1", "false")]
    [InlineData("", "false")]
    public void Matches_renders_whether_the_whole_value_matches_as_java_string_matches_does(string value, string expected)
    {
        var template = RequestTemplate.Parse("t", "$input.params('v').matches(\"1|true\")");

        Assert.Equal(expected, template.Render(Input(query: new() { ["v"] = value })));
    }

    [Fact]
    public void Input_json_renders_the_body_or_a_member_and_params_reads_query_then_headers()
    {
        var template = RequestTemplate.Parse("t", """{"all":$input.json('$'),"x":$input.json('$.a.b'),"q":"$input.params('q')","h":"$input.params('X-H')","s":"${stageVariables.v}"}""");
        var input = new TemplateInput
        {
            Context = new Dictionary<string, string>(),
            StageVariables = new Dictionary<string, string> { ["v"] = "stage" },
            Body = """{"a":{"b":[1,2]}}""",
            Query = new Dictionary<string, string> { ["q"] = "query" },
            Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["x-h"] = "header" },
        };

        Assert.Equal("""{"all":{"a":{"b":[1,2]}},"x":[1,2],"q":"query","h":"header","s":"stage"}""", template.Render(input));
        Assert.Throws<TemplateRenderException>(() => template.Render(new TemplateInput { Context = input.Context, StageVariables = input.StageVariables, Body = "not json" }));
    }

    [Theory]
    [InlineData("#set($x = 1)", "directive")]
    [InlineData("#if($input.body) {} #end", "directive")]
    [InlineData("## comment", "comment")]
    [InlineData("{\"id\":\"$context.nope\"}", "$context.nope")]
    [InlineData("$input.path('$')", "$input.path")]
    [InlineData("$util.base64Encode($input.body)", "$util.base64Encode")]
    [InlineData("$input.body.toUpperCase()", ".toUpperCase")]
    [InlineData("$foo", "$foo")]
    [InlineData("$input.json('$..a')", "JSONPath")]
    public void An_unsupported_construct_is_a_startup_error_naming_the_template_and_the_construct(string text, string construct)
    {
        var error = Assert.Throws<GatewayConfigurationException>(() => RequestTemplate.Parse("infra Integration.RequestTemplates[$default]", text));

        Assert.Contains("infra Integration.RequestTemplates[$default]", error.Message, StringComparison.Ordinal);
        Assert.Contains(construct, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_template_the_gateway_cannot_emulate_is_refused_with_the_resource_named()
    {
        var lambda = JsonNode.Parse(LocalGatewayServer.ReadDefaultTemplate())!;
        lambda["Resources"]!["DefaultIntegration"]!["Properties"]!["IntegrationType"] = "AWS_PROXY";
        var noBackend = LocalGatewayServer.ReadDefaultTemplate();

        var unsupported = Assert.Throws<GatewayConfigurationException>(() =>
            CloudFormationReader.Read(lambda.ToJsonString(), "t.json", new Dictionary<string, string> { ["BackendUrl"] = "http://b" }, new Dictionary<string, string> { ["integrationSecret"] = "" }, "us-east-1"));
        var missing = Assert.Throws<GatewayConfigurationException>(() =>
            CloudFormationReader.Read(noBackend, "t.json", new Dictionary<string, string>(), new Dictionary<string, string> { ["integrationSecret"] = "" }, "us-east-1"));

        Assert.Contains("DefaultIntegration", unsupported.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_PROXY", unsupported.Message, StringComparison.Ordinal);
        Assert.Contains("BackendUrl", missing.Message, StringComparison.Ordinal);
        Assert.Contains("LocalGateway__Parameters__BackendUrl", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_infra_file_and_the_compiled_in_template_are_the_same()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Orleans.sln"))) directory = directory.Parent;
        var file = File.ReadAllText(Path.Combine(directory!.FullName, "infra", "websocket-api.json"));

        Assert.Equal(JsonDocument.Parse(file).RootElement.GetRawText(), JsonDocument.Parse(LocalGatewayServer.ReadDefaultTemplate()).RootElement.GetRawText());
    }
}

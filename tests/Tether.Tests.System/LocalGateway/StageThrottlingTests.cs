using System.Text;
using System.Text.Json.Nodes;
using Tether.Contracts;
using Tether.Delivery;
using Tether.LocalGateway;

namespace Tether.Tests.LocalGateway;

/// <summary>
/// The template's stage throttling (rate and burst) is enforced on connects, client messages and Management API calls
/// together, each answered as API Gateway answers a throttled request.
/// </summary>
public sealed class StageThrottlingTests : IAsyncLifetime
{
    private static readonly (string, string, bool)[] ChatRoutes = [("$connect", "/connect", false), ("$disconnect", "/disconnect", false), ("$default", "/handle-event", true)];

    private readonly List<string> _files = [];
    private readonly List<LocalGatewayServer> _servers = [];
    private ScriptedBackend _backend = null!;

    public async Task InitializeAsync() => _backend = await ScriptedBackend.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var server in _servers) await server.DisposeAsync();
        await _backend.DisposeAsync();
        foreach (var file in _files) File.Delete(file);
    }

    /// <summary>A gateway whose stage allows <paramref name="burst"/> requests at once, refilled at one every 100 seconds.</summary>
    private async Task<LocalGatewayServer> StartAsync(int burst)
    {
        var template = JsonNode.Parse(GatewayTemplates.Api(ChatRoutes))!;
        template["Resources"]!["Stage"] = new JsonObject
        {
            ["Type"] = "AWS::ApiGatewayV2::Stage",
            ["Properties"] = new JsonObject
            {
                ["ApiId"] = new JsonObject { ["Ref"] = "Api" },
                ["StageName"] = "local",
                ["DefaultRouteSettings"] = new JsonObject { ["ThrottlingRateLimit"] = 0.01, ["ThrottlingBurstLimit"] = burst },
            },
        };
        var path = Path.Combine(Path.GetTempPath(), $"tether-gw-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, template.ToJsonString());
        _files.Add(path);
        var server = await LocalGatewayServer.StartAsync(new LocalGatewayOptions { Port = 0, TemplatePath = path, BackendUrl = _backend.Url },
            [new AcceptedCredential(TestCredentials.AccessKeyId, TestCredentials.SecretAccessKey)], "us-east-1");
        _servers.Add(server);
        return server;
    }

    private async Task<TestClient> ConnectAsync(LocalGatewayServer server)
    {
        var client = await TestClient.ConnectAsync(server.WebSocketUrl);
        client.ConnectionId = _backend.Requests.Last(r => r.Path == "/connect").Body["connection_id"]!.GetValue<string>();
        await server.Gateway.WaitUntilAsync(() => server.Gateway.OpenConnectionIds.Contains(client.ConnectionId), TestClient.Timeout);
        return client;
    }

    [Fact]
    public async Task Management_api_calls_past_the_burst_are_answered_429_limit_exceeded()
    {
        var server = await StartAsync(burst: 4);
        await using var client = await ConnectAsync(server);
        using var management = new ManagementApiClient(server.ConnectionUrl, "us-east-1", TestCredentials.Aws,
            new ManagementApiOptions { MaxRetryAttempts = 0 }, new ListLogger<ManagementApiClient>());
        var payload = Encoding.UTF8.GetBytes("x");

        // The connect took one of the four.
        var results = new List<ManagementResult>();
        for (var i = 0; i < 4; i++) results.Add(await management.PostAsync(client.ConnectionId, payload, Envelopes.Sha256Hex(payload)));

        Assert.All(results.Take(3), r => Assert.Equal(ManagementOutcome.Delivered, r.Outcome));
        Assert.Equal((ManagementOutcome.Throttled, 429, "LimitExceededException"), (results[3].Outcome, results[3].StatusCode, results[3].ErrorType));
        Assert.Equal(1, server.ManagementApi.Stats.Throttled);
    }

    [Fact]
    public async Task A_message_past_the_burst_never_reaches_the_backend_and_the_client_is_told()
    {
        var server = await StartAsync(burst: 2);
        await using var client = await ConnectAsync(server);

        var answered = await client.SendForFrameAsync("""{"action":"a","n":1}""");
        var throttled = await client.SendForFrameAsync("""{"action":"a","n":2}""");

        Assert.DoesNotContain("Too Many Requests", answered.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("Too Many Requests", throttled["message"]!.GetValue<string>());
        Assert.Single(_backend.Requests, r => r.Path == "/handle-event");
    }

    [Fact]
    public async Task A_connect_past_the_burst_is_refused_with_429()
    {
        var server = await StartAsync(burst: 1);
        await using var first = await ConnectAsync(server);

        var refused = await TestClient.RefusedStatusAsync(server.WebSocketUrl);

        Assert.Equal(429, refused);
        Assert.Single(_backend.Requests, r => r.Path == "/connect");
    }
}

using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Tether.Contracts;
using Tether.LocalGateway;
using Tether.Delivery;

namespace Tether.Tests.LocalGateway;

/// <summary>The local gateway's API Gateway behaviour against a scripted backend, with real WebSocket clients.</summary>
public sealed class LocalGatewayTests : IAsyncLifetime
{
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

    private static readonly (string, string, bool)[] ChatRoutes = [("$connect", "/connect", false), ("$disconnect", "/disconnect", false), ("$default", "/handle-event", true)];

    private async Task<LocalGatewayServer> StartAsync(string template, Action<LocalGatewayOptions>? configure = null, string? backendUrl = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"tether-gw-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, template);
        _files.Add(path);
        var options = new LocalGatewayOptions { Port = 0, TemplatePath = path, BackendUrl = backendUrl ?? _backend.Url };
        configure?.Invoke(options);
        var server = await LocalGatewayServer.StartAsync(options, [new AcceptedCredential(TestCredentials.AccessKeyId, TestCredentials.SecretAccessKey)], "us-east-1");
        _servers.Add(server);
        return server;
    }

    private async Task<TestClient> ConnectAsync(LocalGatewayServer server, string query = "")
    {
        var before = _backend.Requests.Count(r => r.Path == "/connect");
        var client = await TestClient.ConnectAsync(new Uri(server.WebSocketUrl + query));
        client.ConnectionId = _backend.Requests.Where(r => r.Path == "/connect").ElementAt(before).Body["connection_id"]!.GetValue<string>();
        await server.Gateway.WaitUntilAsync(() => server.Gateway.OpenConnectionIds.Contains(client.ConnectionId), TestClient.Timeout);
        return client;
    }

    /// <summary>Puts a marker behind everything sent so far and waits for it: afterwards <see cref="TestClient.Frames"/> is complete.</summary>
    private static async Task SettleAsync(LocalGatewayServer server, TestClient client)
    {
        var marker = TestClient.MarkerPrefix + Guid.NewGuid().ToString("N");
        Assert.True(await server.Gateway.SendAsync(client.ConnectionId, Encoding.UTF8.GetBytes(marker), CancellationToken.None));
        await client.WaitForMarkerAsync(marker);
    }

    private static ManagementApiClient Client(LocalGatewayServer server, AWSCredentials? credentials = null) =>
        new(server.ConnectionUrl, "us-east-1", credentials ?? TestCredentials.Aws,
            new ManagementApiOptions { MaxRetryAttempts = 0, AttemptTimeout = TimeSpan.FromSeconds(10) }, new ListLogger<ManagementApiClient>());

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(400)]
    public async Task A_non_2xx_connect_refuses_the_upgrade_with_that_status(int status)
    {
        var server = await StartAsync(GatewayTemplates.Api(ChatRoutes));
        _backend.Answer = (path, _) => Task.FromResult(path == "/connect" ? (status, "{}") : (200, "{}"));

        var refused = await TestClient.RefusedStatusAsync(new Uri(server.WebSocketUrl + "?token=abc"));

        Assert.Equal(status, refused);
        var connect = Assert.Single(_backend.Requests);
        Assert.Equal("abc", connect.Body["token"]!.GetValue<string>());
        Assert.Equal(0, server.Gateway.Count);
    }

    [Fact]
    public async Task An_unreachable_backend_refuses_the_upgrade_with_500()
    {
        var server = await StartAsync(GatewayTemplates.Api(ChatRoutes), backendUrl: $"http://127.0.0.1:{FreePort.Next()}");

        Assert.Equal(500, await TestClient.RefusedStatusAsync(server.WebSocketUrl));
    }

    [Fact]
    public async Task Messages_are_routed_by_action_and_only_two_way_routes_answer_the_client()
    {
        var server = await StartAsync(GatewayTemplates.Api([.. ChatRoutes.Where(r => r.Item1 != "$default"), ("echo", "/echo", true), ("$default", "/handle-event", false)]));
        _backend.Answer = (path, body) => Task.FromResult((200, new JsonObject { ["path"] = path, ["route"] = body["route"]?.DeepClone() }.ToJsonString()));
        await using var client = await ConnectAsync(server);

        await client.SendAsync("""{"action":"echo","n":1}""");
        await client.SendAsync("not json at all");
        await client.SendAsync("""{"action":"unknown"}""");
        await client.SendAsync("""{"action":"echo","n":2}""");
        await _backend.WaitForAsync(r => r.Count(x => x.Path != "/connect") == 4);
        await client.WaitUntilAsync(() => client.Frames.Count == 2);
        await SettleAsync(server, client);

        var events = _backend.Requests.Where(r => r.Path != "/connect").Select(r => (r.Path, r.Body["route"]!.GetValue<string>(), r.Body["body"]!.GetValue<string>()));
        Assert.Equal(
        [
            ("/echo", "echo", """{"action":"echo","n":1}"""),
            ("/handle-event", "$default", "not json at all"),
            ("/handle-event", "$default", """{"action":"unknown"}"""),
            ("/echo", "echo", """{"action":"echo","n":2}"""),
        ], events);
        Assert.Equal(["""{"path":"/echo","route":"echo"}""", """{"path":"/echo","route":"echo"}"""], client.Frames);
    }

    [Fact]
    public async Task Without_a_default_route_an_unmatched_message_gets_the_forbidden_frame()
    {
        var server = await StartAsync(GatewayTemplates.Api([.. ChatRoutes.Where(r => r.Item1 != "$default"), ("echo", "/echo", true)]));
        await using var client = await ConnectAsync(server);

        var frame = await client.SendForReplyAsync("hello");

        Assert.Equal("Forbidden", frame["message"]!.GetValue<string>());
        Assert.Equal(client.ConnectionId, frame["connectionId"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(frame["requestId"]!.GetValue<string>()));
        Assert.DoesNotContain(_backend.Requests, r => r.Path == "/echo");
    }

    [Fact]
    public async Task An_integration_that_fails_or_times_out_answers_with_the_internal_server_error_frame()
    {
        var server = await StartAsync(GatewayTemplates.Api(ChatRoutes, timeoutMs: 300));
        var slow = new TaskCompletionSource();
        _backend.Answer = async (path, body) =>
        {
            if (path == "/handle-event" && body["body"]!.GetValue<string>() == "slow") await slow.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return (200, "{\"ok\":true}");
        };
        await using var client = await ConnectAsync(server);

        var timedOut = await client.SendForFrameAsync("slow");
        slow.SetResult();
        var fine = await client.SendForFrameAsync("fast");

        Assert.Equal(("Internal server error", client.ConnectionId), (timedOut["message"]!.GetValue<string>(), timedOut["connectionId"]!.GetValue<string>()));
        Assert.Equal("""{"ok":true}""", fine.ToJsonString());
    }

    [Fact]
    public async Task An_idle_connection_is_closed_1001_and_disconnect_reports_it()
    {
        var server = await StartAsync(GatewayTemplates.Api(ChatRoutes), o => o.IdleTimeout = TimeSpan.FromMilliseconds(500));
        await using var client = await ConnectAsync(server);

        var closed = await client.ClosedAsync();
        await _backend.WaitForAsync(r => r.Any(x => x.Path == "/disconnect"));

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, closed.Status);
        var disconnect = _backend.Requests.Single(r => r.Path == "/disconnect").Body;
        Assert.Equal((client.ConnectionId, "1001"), (disconnect["connection_id"]!.GetValue<string>(), disconnect["status_code"]!.GetValue<string>()));
        Assert.Contains("idle", disconnect["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_is_closed_at_its_maximum_lifetime_even_when_busy()
    {
        var server = await StartAsync(GatewayTemplates.Api(ChatRoutes), o => o.MaxLifetime = TimeSpan.FromMilliseconds(800));
        await using var client = await ConnectAsync(server);
        await client.SendForFrameAsync("keep me busy");

        var closed = await client.ClosedAsync();
        await _backend.WaitForAsync(r => r.Any(x => x.Path == "/disconnect"));

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, closed.Status);
        Assert.Contains("lifetime", _backend.Requests.Single(r => r.Path == "/disconnect").Body["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Posting_during_connect_is_gone_and_the_management_api_answers_like_aws_afterwards()
    {
        var server = await StartAsync(GatewayTemplates.Api(ChatRoutes));
        using var management = Client(server);
        ManagementResult? duringConnect = null;
        _backend.Answer = async (path, body) =>
        {
            if (path == "/connect")
            {
                var payload = Encoding.UTF8.GetBytes("welcome");
                duringConnect = await management.PostAsync(body["connection_id"]!.GetValue<string>(), payload, Envelopes.Sha256Hex(payload));
            }
            return (200, "{}");
        };
        await using var client = await ConnectAsync(server);
        var id = client.ConnectionId;

        var hello = Encoding.UTF8.GetBytes("""{"hello":"world"}""");
        var posted = await management.PostAsync(id, hello, Envelopes.Sha256Hex(hello));
        var (got, info) = await management.GetAsync(id);
        var huge = new byte[128 * 1024 + 1];
        var tooLarge = await management.PostAsync(id, huge, Envelopes.Sha256Hex(huge));
        using var impostor = Client(server, new BasicAWSCredentials(TestCredentials.AccessKeyId, "not-the-secret"));
        var forbidden = await impostor.PostAsync(id, hello, Envelopes.Sha256Hex(hello));
        var deleted = await management.DeleteAsync(id);
        var closed = await client.ClosedAsync();
        var afterDelete = await management.PostAsync(id, hello, Envelopes.Sha256Hex(hello));
        await _backend.WaitForAsync(r => r.Any(x => x.Path == "/disconnect"));

        Assert.Equal(ManagementOutcome.Gone, duringConnect!.Value.Outcome);
        Assert.Equal(ManagementOutcome.Delivered, posted.Outcome);
        Assert.Equal(ManagementOutcome.Delivered, got.Outcome);
        Assert.Equal("127.0.0.1", info!.SourceIp);
        Assert.Equal((ManagementOutcome.TooLarge, "PayloadTooLargeException"), (tooLarge.Outcome, tooLarge.ErrorType));
        Assert.Equal((ManagementOutcome.Forbidden, 403, "ForbiddenException"), (forbidden.Outcome, forbidden.StatusCode, forbidden.ErrorType));
        Assert.Equal((ManagementOutcome.Delivered, 204), (deleted.Outcome, deleted.StatusCode));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.Status);
        Assert.Equal((ManagementOutcome.Gone, "GoneException"), (afterDelete.Outcome, afterDelete.ErrorType));
        Assert.Equal(["""{"hello":"world"}"""], client.Frames);
    }

    [Fact]
    public async Task Configured_faults_answer_a_share_of_posts_429()
    {
        var server = await StartAsync(GatewayTemplates.Api(ChatRoutes), o => o.Faults.ThrottleShare = 1.0);
        using var management = Client(server);
        await using var client = await ConnectAsync(server);

        var payload = Encoding.UTF8.GetBytes("x");
        var result = await management.PostAsync(client.ConnectionId, payload, Envelopes.Sha256Hex(payload));
        server.Faults.ThrottleShare = 0;
        var after = await management.PostAsync(client.ConnectionId, payload, Envelopes.Sha256Hex(payload));
        await SettleAsync(server, client);

        Assert.Equal((ManagementOutcome.Throttled, "LimitExceededException"), (result.Outcome, result.ErrorType));
        Assert.Equal(ManagementOutcome.Delivered, after.Outcome);
        Assert.Equal(["x"], client.Frames);
    }
}

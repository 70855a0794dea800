using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Tether.Delivery;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>
/// The whole flow on loopback sockets: real WebSocket clients → the local gateway (configured from
/// <c>infra/websocket-api.json</c>) → real HTTP calls to the API on Kestrel → grains → Management API client →
/// the gateway's <c>@connections</c> → the clients.
/// </summary>
public sealed class EndToEndFixture : IAsyncLifetime
{
    public const string ApiKey = "e2e-api-key-0123456789";
    public const string IntegrationSecret = "e2e-integration-secret-0123456789abcdef";

    private string _templatePath = "";

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;
    public LocalGatewayServer Gateway { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;

    /// <summary>Every integration request the gateway made, for asserting headers.</summary>
    public RecordingHandler Backend { get; } = new();

    public async Task InitializeAsync()
    {
        var apiPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("LocalGateway:Enabled", "false");
            web.UseSetting("ManagementApi:Endpoint", $"http://localhost:{gatewayPort}/local");
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("ManagementApi:RetryBaseDelay", "00:00:00.005");
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Admin:ApiKeys:0", ApiKey);
            web.UseSetting("Integration:Secrets:0", IntegrationSecret);
            // A vanished client must leave its rooms at its first 410, not after the $connect grace period.
            web.UseSetting("Connections:ConnectGracePeriod", "00:00:00");
        });
        Factory.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, apiPort));
        Factory.StartServer();
        var apiUrl = Factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        Api = new HttpClient { BaseAddress = new Uri(apiUrl) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

        _templatePath = Path.Combine(Path.GetTempPath(), $"tether-e2e-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(_templatePath, TemplateWithUserFromQuery());
        Gateway = await LocalGatewayServer.StartAsync(
            new LocalGatewayOptions
            {
                Port = gatewayPort,
                BackendUrl = apiUrl,
                TemplatePath = _templatePath,
                StageVariables = { [LocalGatewayOptions.SecretStageVariable] = IntegrationSecret },
            },
            [new AcceptedCredential(TestCredentials.AccessKeyId, TestCredentials.SecretAccessKey)], "us-east-1",
            backendHandler: Backend);
    }

    /// <summary>
    /// The deployed template with one addition: <c>$connect</c> also passes <c>?user=</c>, so tests can give
    /// connections users without an authentication scheme. Everything else is the file in <c>infra/</c>.
    /// </summary>
    public static string TemplateWithUserFromQuery()
    {
        var template = JsonNode.Parse(LocalGatewayServer.ReadDefaultTemplate())!;
        var templates = template["Resources"]!["ConnectIntegration"]!["Properties"]!["RequestTemplates"]!;
        var connect = templates["$default"]!.GetValue<string>();
        templates["$default"] = connect[..^1] + ",\"user\":\"$util.escapeJavaScript($input.params('user')).replaceAll(\"\\\\'\",\"'\")\"}";
        return template.ToJsonString();
    }

    /// <summary>Connects a client and learns its connection id from the gateway (as the backend learns it).</summary>
    public async Task<TestClient> ConnectAsync(string query = "")
    {
        var before = Gateway.Gateway.OpenConnectionIds.ToHashSet(StringComparer.Ordinal);
        var client = await TestClient.ConnectAsync(new Uri(Gateway.WebSocketUrl + query));
        string? id = null;
        await Gateway.Gateway.WaitUntilAsync(() => (id = Gateway.Gateway.OpenConnectionIds.FirstOrDefault(c => !before.Contains(c))) is not null, TestClient.Timeout);
        client.ConnectionId = id!;
        return client;
    }

    /// <summary>
    /// Waits until everything the backend sent to these clients has arrived: the dispatcher is idle (every post
    /// answered), then a marker put on each socket behind those posts has been read.
    /// </summary>
    public async Task SettleAsync(params TestClient[] clients)
    {
        // Presence notices wait out their room's window before they reach the dispatcher.
        await Factory.Services.GetRequiredService<Grains.PresenceBacklog>().WhenIdleAsync().WaitAsync(TestClient.Timeout);
        await Factory.Services.GetRequiredService<DeliveryDispatcher>().WhenIdleAsync().WaitAsync(TestClient.Timeout);
        foreach (var client in clients)
        {
            var marker = TestClient.MarkerPrefix + Guid.NewGuid().ToString("N");
            Assert.True(await Gateway.Gateway.SendAsync(client.ConnectionId, System.Text.Encoding.UTF8.GetBytes(marker), CancellationToken.None));
            await client.WaitForMarkerAsync(marker);
        }
    }

    public async Task DisposeAsync()
    {
        Api.Dispose();
        await Gateway.DisposeAsync();
        await Factory.DisposeAsync();
        File.Delete(_templatePath);
    }
}

/// <summary>Passes integration requests through and keeps what was sent and answered.</summary>
public sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<IntegrationCall> _calls = new();
    private readonly ChangeSignal _signal = new();

    public IReadOnlyList<IntegrationCall> Calls => [.. _calls];

    /// <summary>The answered <c>/disconnect</c> call for a connection, once it has happened.</summary>
    public async Task<JsonObject> DisconnectOfAsync(string connectionId)
    {
        IntegrationCall? call = null;
        await _signal.WaitUntilAsync(() => (call = _calls.FirstOrDefault(c => c.Path == "/disconnect" && c.Body["connection_id"]?.GetValue<string>() == connectionId)) is not null,
            TestClient.Timeout);
        return call!.Body;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = await request.Content!.ReadAsStringAsync(cancellationToken);
        var response = await base.SendAsync(request, cancellationToken);
        _calls.Enqueue(new IntegrationCall(request.RequestUri!.AbsolutePath,
            request.Headers.TryGetValues("X-Gateway-Secret", out var values) ? string.Join(',', values) : null,
            JsonNode.Parse(body)!.AsObject(), (int)response.StatusCode));
        _signal.Notify();
        return response;
    }
}

public sealed record IntegrationCall(string Path, string? Secret, JsonObject Body, int Status);

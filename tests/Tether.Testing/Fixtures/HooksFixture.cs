using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Tether.Delivery;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>
/// The whole flow through the local gateway with every hook pointed at a <see cref="HookServer"/>. Join and rpc fail
/// closed (the default <c>deny</c>), publish fails open (<c>allow</c>); join and publish time out after 1 s. Rooms of
/// three or more members are sharded, so the default room is a sharded room.
/// </summary>
public sealed class HooksFixture : IAsyncLifetime
{
    public const string ApiKey = "hooks-api-key-0123456789";
    public const string IntegrationSecret = "hooks-integration-secret-0123456789";
    public const string HookSecret = "hook-secret-current-2b9f4c1d7e";
    public const string OldHookSecret = "hook-secret-rotating-out-8a3e6d";
    public static readonly TimeSpan HookTimeout = TimeSpan.FromSeconds(1);

    private string _templatePath = "";

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;
    public LocalGatewayServer Gateway { get; private set; } = null!;
    public HookServer Hooks { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Hooks = await HookServer.StartAsync();
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
            web.UseSetting("Connections:ConnectGracePeriod", "00:00:00");
            web.UseSetting("Rooms:PresenceNotices", "false");
            web.UseSetting("Rooms:ShardThreshold", "3");
            web.UseSetting("Rooms:InitialShards", "2");
            // Rotation: the first entry signs.
            web.UseSetting("Hooks:Secrets:0", HookSecret);
            web.UseSetting("Hooks:Secrets:1", OldHookSecret);
            foreach (var hook in Enum.GetValues<HookName>())
            {
                web.UseSetting($"Hooks:{hook}:Url", new Uri(Hooks.BaseUrl, hook.ToString().ToLowerInvariant()).ToString());
            }
            web.UseSetting("Hooks:Join:Timeout", HookTimeout.ToString("c", CultureInfo.InvariantCulture));
            web.UseSetting("Hooks:Publish:Timeout", HookTimeout.ToString("c", CultureInfo.InvariantCulture));
            web.UseSetting("Hooks:Publish:FailurePolicy", "allow");
            web.UseSetting("Hooks:Rpc:Actions", "typing,lookup");
        });
        Factory.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, apiPort));
        Factory.StartServer();
        var apiUrl = Factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        Api = new HttpClient { BaseAddress = new Uri(apiUrl) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

        _templatePath = Path.Combine(Path.GetTempPath(), $"tether-hooks-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(_templatePath, EndToEndFixture.TemplateWithUserFromQuery());
        Gateway = await LocalGatewayServer.StartAsync(
            new LocalGatewayOptions
            {
                Port = gatewayPort,
                BackendUrl = apiUrl,
                TemplatePath = _templatePath,
                StageVariables = { [LocalGatewayOptions.SecretStageVariable] = IntegrationSecret },
            },
            [new AcceptedCredential(TestCredentials.AccessKeyId, TestCredentials.SecretAccessKey)], "us-east-1");
    }

    public IGrainFactory Grains => Factory.Services.GetRequiredService<IGrainFactory>();

    /// <summary>Connects a client and learns its connection id from the gateway.</summary>
    public async Task<TestClient> ConnectAsync(string query = "")
    {
        var before = Gateway.Gateway.OpenConnectionIds.ToHashSet(StringComparer.Ordinal);
        var client = await TestClient.ConnectAsync(new Uri(Gateway.WebSocketUrl + query));
        string? id = null;
        await Gateway.Gateway.WaitUntilAsync(() => (id = Gateway.Gateway.OpenConnectionIds.FirstOrDefault(c => !before.Contains(c))) is not null, TestClient.Timeout);
        client.ConnectionId = id!;
        return client;
    }

    /// <summary>Waits until everything the backend sent to these clients has arrived (see <see cref="EndToEndFixture.SettleAsync"/>).</summary>
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
        await Hooks.DisposeAsync();
        File.Delete(_templatePath);
    }
}

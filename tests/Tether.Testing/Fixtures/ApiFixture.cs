using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Tether.Delivery;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>
/// The real API (embedded silo included) on ASP.NET Core's test server, posting to the emulated Management API. A test
/// that needs other settings derives from it and overrides <see cref="Configure"/> (xUnit builds fixtures through
/// their one parameterless constructor).
/// </summary>
public class ApiFixture : IAsyncLifetime
{
    public const string ApiKey = "test-api-key-0123456789";

    public InMemoryConnections Connections { get; } = new();
    public ManagementApiEmulatorHost Gateway { get; private set; } = null!;
    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), Connections);
        var siloPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("ManagementApi:Endpoint", Gateway.ConnectionUrl.ToString());
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("ManagementApi:RetryBaseDelay", "00:00:00.005");
            web.UseSetting("Orleans:Endpoints:SiloPort", siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            web.UseSetting("Admin:ApiKeys:0", "old-key-being-rotated-out");
            web.UseSetting("Admin:ApiKeys:1", ApiKey);
            web.UseSetting("Connections:ConnectGracePeriod", "00:00:00");
            web.UseSetting("LocalGateway:Enabled", "false");
            Configure(web);
        });
        _ = Factory.Server;
    }

    /// <summary>Settings on top of the fixture's own; later settings win.</summary>
    protected virtual void Configure(IWebHostBuilder web)
    {
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Gateway.DisposeAsync();
    }

    /// <summary>Waits until no room holds presence notices for its window, then until the dispatcher is idle.</summary>
    public async Task DrainAsync()
    {
        await Factory.Services.GetRequiredService<Grains.PresenceBacklog>().WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Factory.Services.GetRequiredService<DeliveryDispatcher>().WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }
}

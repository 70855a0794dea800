extern alias silo;

using System.Globalization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>The standalone silo host (src/Silo's Program) with its HTTP listener: health, dashboard, metrics.</summary>
public sealed class SiloHostFixture : IAsyncLifetime
{
    public const string ApiKey = "silo-test-key-0123456789";

    public ManagementApiEmulatorHost Gateway { get; private set; } = null!;
    public WebApplicationFactory<silo::Program> Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), new InMemoryConnections());
        Factory = new WebApplicationFactory<silo::Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ManagementApi:Endpoint", Gateway.ConnectionUrl.ToString());
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:ClusterId", "silo-host-test-" + Guid.NewGuid().ToString("N")[..8]);
            web.UseSetting("Admin:ApiKeys:0", ApiKey);
            web.UseSetting("Telemetry:Prometheus", "true");
        });
        _ = Factory.Server;
        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Gateway.DisposeAsync();
    }
}

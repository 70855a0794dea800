using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tether.LocalGateway;

/// <summary>The emulated Management API on its own Kestrel server on loopback (port 0 picks a free one).</summary>
public sealed class ManagementApiEmulatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ManagementApiEmulatorHost(WebApplication app, ManagementApiEmulator emulator, Uri baseAddress, string stage)
    {
        _app = app;
        Emulator = emulator;
        BaseAddress = baseAddress;
        ConnectionUrl = new Uri(baseAddress, stage);
    }

    public ManagementApiEmulator Emulator { get; }

    /// <summary>The server's root, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The connection URL a backend posts to: the root plus the stage.</summary>
    public Uri ConnectionUrl { get; }

    public static async Task<ManagementApiEmulatorHost> StartAsync(
        ManagementApiEmulatorOptions options, IEmulatedConnections connections, int port = 0, FaultInjection? faults = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        var emulator = new ManagementApiEmulator(options, connections, faults);
        app.MapManagementApi(emulator);
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ManagementApiEmulatorHost(app, emulator, new Uri(address), options.Stage);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

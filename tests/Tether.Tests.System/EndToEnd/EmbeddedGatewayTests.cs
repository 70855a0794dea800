using System.Globalization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Tether.Api;
using Tether.Delivery;

namespace Tether.Tests.EndToEnd;

/// <summary>The one-command shape: the API alone, in the embedded default, hosts the gateway and posts to it.</summary>
public sealed class EmbeddedGatewayTests : IAsyncLifetime
{
    private WebApplicationFactory<Program> _factory = null!;
    private int _gatewayPort;

    public Task InitializeAsync()
    {
        var apiPort = FreePort.Next();
        _gatewayPort = FreePort.Next();
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("LocalGateway:Port", _gatewayPort.ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Integration:Secrets:0", "embedded-secret-0123456789abcdef0123");
        });
        _factory.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, apiPort));
        _factory.StartServer();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task Two_clients_chat_in_a_room_through_the_gateway_the_api_hosts_itself()
    {
        var server = _factory.Services.GetRequiredService<EmbeddedLocalGateway>().Server!;
        var target = _factory.Services.GetRequiredService<ManagementApiTarget>();
        Assert.Equal($"ws://localhost:{_gatewayPort}/local", server.WebSocketUrl.ToString());
        Assert.Equal($"http://localhost:{_gatewayPort}/local", target.Endpoint.ToString().TrimEnd('/'));
        Assert.Equal("embedded-secret-0123456789abcdef0123", server.Gateway.Definition.StageVariables["integrationSecret"]);

        await using var ann = await TestClient.ConnectAsync(server.WebSocketUrl);
        await using var bob = await TestClient.ConnectAsync(server.WebSocketUrl);
        var annJoined = await ann.SendForReplyAsync("""{"action":"joinroom","room":"kitchen"}""");
        var bobJoined = await bob.SendForReplyAsync("""{"action":"joinroom","room":"kitchen"}""");
        await ann.WaitUntilAsync(() => ann.Deliveries().Count == 1);
        var sent = await ann.SendForReplyAsync("""{"action":"sendmessage","room":"kitchen","message":"dinner?","echo":false}""");
        await bob.WaitUntilAsync(() => bob.Deliveries().Count == 1);

        Assert.Equal(("joined", 1), (annJoined["type"]!.GetValue<string>(), annJoined["members"]!.GetValue<int>()));
        Assert.Equal(("joined", 2), (bobJoined["type"]!.GetValue<string>(), bobJoined["members"]!.GetValue<int>()));
        Assert.Equal(("presence", "join"), (ann.Deliveries()[0]["type"]!.GetValue<string>(), ann.Deliveries()[0]["event"]!.GetValue<string>()));
        Assert.Equal(1, sent["recipients"]!.GetValue<int>());
        var message = bob.Deliveries()[0];
        Assert.Equal(("message", "kitchen", "\"dinner?\"", sent["id"]!.GetValue<string>()),
            (message["type"]!.GetValue<string>(), message["room"]!.GetValue<string>(), message["body"]!.ToJsonString(), message["id"]!.GetValue<string>()));
        Assert.Equal(3, ann.Frames.Count);
        Assert.Equal(2, bob.Frames.Count);
    }
}

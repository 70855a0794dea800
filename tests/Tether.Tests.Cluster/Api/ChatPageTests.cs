using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Tether.Tests.Api;

/// <summary>
/// <c>GET /</c> serves the chat page with the SDK built into the assembly (no npm at run or test time), only in
/// Development unless <c>ChatPage__Enabled</c> says otherwise.
/// </summary>
public sealed class ChatPageTests
{
    private static WebApplicationFactory<Program> Host(string environment, params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment(environment);
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Integration:PrivateNetwork", "true");
            // Outside Development a single node and its Management API endpoint are stated (see StartupShapeTests).
            web.UseSetting("Hosting:SingleNode", "true");
            web.UseSetting("ManagementApi:Endpoint", "https://abc123.execute-api.eu-west-1.amazonaws.com/prod");
            foreach (var (key, value) in settings) web.UseSetting(key, value);
        });

    [Fact]
    public async Task Development_serves_the_page_its_script_and_the_sdk()
    {
        await using var host = Host("Development", ("LocalGateway:Port", "8123"));
        using var http = host.CreateClient();

        var page = await http.GetAsync("/");
        var app = await http.GetAsync("/chat/app.js");
        var sdk = await http.GetAsync("/chat/sdk/index.js");
        var client = await http.GetAsync("/chat/sdk/client.js");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script type=\"module\" src=\"/chat/app.js\"></script>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("text/javascript", app.Content.Headers.ContentType?.MediaType);
        Assert.Contains("from \"./sdk/index.js\"", await app.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("TetherClient", await sdk.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("class TetherClient", await client.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_is_told_the_embedded_gateway_on_the_host_the_browser_used()
    {
        await using var host = Host("Development", ("LocalGateway:Port", "8123"));
        using var http = host.CreateClient();

        var config = JsonDocument.Parse(await http.GetStringAsync("/chat/config.json"));

        Assert.Equal("ws://localhost:8123/local", config.RootElement.GetProperty("url").GetString());
    }

    [Fact]
    public async Task A_configured_websocket_url_wins()
    {
        await using var host = Host("Production", ("ChatPage:Enabled", "true"), ("ChatPage:WebSocketUrl", "wss://abc.execute-api.eu-west-1.amazonaws.com/prod"));
        using var http = host.CreateClient();

        var config = JsonDocument.Parse(await http.GetStringAsync("/chat/config.json"));

        Assert.Equal("wss://abc.execute-api.eu-west-1.amazonaws.com/prod", config.RootElement.GetProperty("url").GetString());
    }

    [Theory]
    [InlineData("Production", null, HttpStatusCode.NotFound)]
    [InlineData("Production", "true", HttpStatusCode.OK)]
    [InlineData("Development", "false", HttpStatusCode.NotFound)]
    public async Task Outside_development_the_page_is_served_only_when_enabled(string environment, string? enabled, HttpStatusCode expected)
    {
        await using var host = enabled is null ? Host(environment) : Host(environment, ("ChatPage:Enabled", enabled));
        using var http = host.CreateClient();

        Assert.Equal(expected, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(expected, (await http.GetAsync("/chat/app.js")).StatusCode);
    }

    [Theory]
    [InlineData("/chat/missing.js")]
    [InlineData("/chat/../appsettings.json")]
    [InlineData("/chat/%2E%2E%2Fappsettings.json")]
    [InlineData("/chat/sdk/index.d.ts")]
    public async Task Only_the_page_s_own_files_are_served(string path)
    {
        await using var host = Host("Development");
        using var http = host.CreateClient();

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task A_websocket_url_that_is_not_ws_stops_the_start()
    {
        await using var host = Host("Development", ("ChatPage:WebSocketUrl", "http://localhost:8080/local"));

        var error = Record.Exception(() => host.Server);

        Assert.NotNull(error);
        Assert.Contains("ChatPage__WebSocketUrl", error.ToString(), StringComparison.Ordinal);
    }
}

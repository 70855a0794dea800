using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Tether.Tests.Security;

/// <summary>Production refuses to start insecurely; Development starts and says so once, loudly.</summary>
public sealed class StartupSecurityTests
{
    private static WebApplicationFactory<Program> Host(string environment, CapturedLogs logs, params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment(environment);
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            foreach (var (key, value) in settings) web.UseSetting(key, value);
            web.ConfigureLogging(logging => logging.AddProvider(logs));
        });

    // Outside Development nothing local is assumed (see StartupShapeTests): these hosts state the shape and endpoint.
    private static readonly (string, string)[] SingleNodeWithEndpoint =
        [("Hosting:SingleNode", "true"), ("ManagementApi:Endpoint", "https://abc123.execute-api.us-east-1.amazonaws.com/prod")];

    private static string StartFailure(WebApplicationFactory<Program> host)
    {
        var error = Record.Exception(() => host.Server);
        Assert.NotNull(error);
        return error.ToString();
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task Outside_development_no_secret_means_no_start(string environment)
    {
        await using var host = Host(environment, new CapturedLogs(), SingleNodeWithEndpoint);
        var failure = StartFailure(host);
        Assert.Contains("Integration__Secrets__0", failure, StringComparison.Ordinal);
        Assert.Contains("Integration__PrivateNetwork", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_starts_with_a_secret_or_a_declared_private_network()
    {
        await using var withSecret = Host("Production", new CapturedLogs(), [("Integration:Secrets:0", SecurityFixture.Secret), .. SingleNodeWithEndpoint]);
        await using var privateNetwork = Host("Production", new CapturedLogs(), [("Integration:PrivateNetwork", "true"), .. SingleNodeWithEndpoint]);

        using var a = withSecret.CreateClient();
        using var b = privateNetwork.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await a.PostAsync("/connect", SecurityFixture.Json("{\"connection_id\":\"abc=\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/health/live")).StatusCode);
    }

    [Theory]
    [InlineData("Integration:Secrets:0", "short")]
    [InlineData("Admin:ApiKeys:0", "short-key")]
    [InlineData("Management:ApiKeys:0", "renamed-setting-0123456789")]
    [InlineData("Limits:MaxMessageBytes", "200000")]
    [InlineData("Limits:MessagesPerSecond", "-1")]
    [InlineData("Limits:RoomNamePattern", "([a-z")]
    [InlineData("Jwt:Issuers:0", "https://issuer.example")]
    [InlineData("Jwt:SymmetricKeys:0", "dG9vLXNob3J0")]
    [InlineData("Jwt:PublicKeys:0", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")]
    public async Task Unsafe_or_broken_settings_stop_the_start_with_a_clear_message(string key, string value)
    {
        var settings = new List<(string, string)> { (key, value) };
        if (key.StartsWith("Jwt:", StringComparison.Ordinal))
        {
            settings.Add(("Jwt:Audiences:0", "tether"));
            if (key != "Jwt:Issuers:0") settings.Add(("Jwt:Issuers:0", "https://issuer.example"));
        }
        await using var host = Host("Development", new CapturedLogs(), [.. settings]);
        var failure = StartFailure(host);
        // The message names the setting that is wrong, as an operator sets it (Section__Key).
        var setting = (key.EndsWith(":0", StringComparison.Ordinal) ? key[..^2] : key).Replace(":", "__", StringComparison.Ordinal);
        Assert.Contains(setting, failure, StringComparison.Ordinal);
        if (key.Contains("Secret", StringComparison.Ordinal) || key.Contains("Key", StringComparison.Ordinal))
        {
            Assert.DoesNotContain(value, failure, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Development_without_a_secret_starts_and_warns_exactly_once()
    {
        var logs = new CapturedLogs();
        await using var host = Host("Development", logs);
        using var http = host.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);

        var warning = Assert.Single(logs.Entries, e => e.Level >= LogLevel.Warning && e.Text.Contains("INSECURE", StringComparison.Ordinal));
        Assert.Contains("Integration__Secrets__0", warning.Text, StringComparison.Ordinal);
    }
}

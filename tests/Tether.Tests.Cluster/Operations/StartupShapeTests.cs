using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Tether.Tests.Operations;

/// <summary>
/// Outside Development nothing local is assumed: without Redis the node starts only when the single-node shape is
/// chosen, and never without a Management API endpoint (it would post where nothing listens and still report ready).
/// </summary>
public sealed class StartupShapeTests
{
    private const string Endpoint = "https://abc123.execute-api.us-east-1.amazonaws.com/prod";

    private static WebApplicationFactory<Program> Host(string environment, params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment(environment);
            web.UseSetting("Integration:Secrets:0", SecurityFixture.Secret);
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            foreach (var (key, value) in settings) web.UseSetting(key, value);
        });

    private static string StartFailure(WebApplicationFactory<Program> host)
    {
        var error = Record.Exception(() => host.Server);
        Assert.NotNull(error);
        return error.ToString();
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task Outside_development_no_redis_means_no_start_unless_single_node_is_chosen(string environment)
    {
        await using var host = Host(environment, ("ManagementApi:Endpoint", Endpoint));

        var failure = StartFailure(host);

        Assert.Contains("ConnectionStrings__redis", failure, StringComparison.Ordinal);
        Assert.Contains("Hosting__SingleNode", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task Outside_development_no_management_api_endpoint_means_no_start(string environment)
    {
        await using var host = Host(environment, ("Hosting:SingleNode", "true"));

        var failure = StartFailure(host);

        Assert.Contains("ManagementApi__Endpoint", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chosen_single_node_with_an_endpoint_starts_in_production()
    {
        await using var host = Host("Production", ("Hosting:SingleNode", "true"), ("ManagementApi:Endpoint", Endpoint));
        using var http = host.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task Development_still_runs_the_embedded_default_with_nothing_set()
    {
        await using var host = Host("Development", ("LocalGateway:Enabled", "false"));
        using var http = host.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }
}

extern alias silo;

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Tether.LocalGateway;

namespace Tether.Tests.Operations;

public sealed class SiloHostTests(SiloHostFixture fixture) : IClassFixture<SiloHostFixture>
{
    private readonly HttpClient _http = fixture.Factory.CreateClient();

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetAsync(string path, AuthenticationHeaderValue? auth = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = auth;
        var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    [Fact]
    public async Task Live_and_ready_answer_200_once_the_silo_is_an_active_member()
    {
        var (liveStatus, _, _) = await GetAsync("/health/live");
        var (readyStatus, readyBody, _) = await GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, liveStatus);
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        var checks = JsonDocument.Parse(readyBody).RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("cluster").GetProperty("status").GetString());
        Assert.Equal("silo active", checks.GetProperty("cluster").GetProperty("description").GetString());
        Assert.Equal("Healthy", checks.GetProperty("shutdown").GetProperty("status").GetString());
        Assert.Equal("posts reach the Management API", checks.GetProperty("managementApi").GetProperty("description").GetString());
    }

    [Theory]
    [InlineData("/dashboard/")]
    [InlineData("/dashboard/ClusterStats")]
    [InlineData("/dashboard/GrainState?grainId=x&grainType=y")]
    [InlineData("/metrics")]
    public async Task Administrative_pages_answer_401_without_a_key_and_with_a_wrong_one(string path)
    {
        var (anonymous, _, response) = await GetAsync(path);
        var (wrongBearer, _, _) = await GetAsync(path, new AuthenticationHeaderValue("Bearer", "not-the-key"));
        var (wrongBasic, _, _) = await GetAsync(path, Basic("admin", "not-the-key"));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        Assert.Equal(HttpStatusCode.Unauthorized, wrongBearer);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongBasic);
    }

    [Fact]
    public async Task The_dashboard_answers_200_with_the_key_as_bearer_token_or_as_basic_password()
    {
        var (page, html, _) = await GetAsync("/dashboard/", new AuthenticationHeaderValue("Bearer", SiloHostFixture.ApiKey));
        var (stats, json, _) = await GetAsync("/dashboard/ClusterStats", Basic("operator", SiloHostFixture.ApiKey));

        Assert.Equal(HttpStatusCode.OK, page);
        Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, stats);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(json).RootElement.ValueKind);
    }

    [Fact]
    public async Task The_prometheus_endpoint_serves_orleans_metrics_with_the_key()
    {
        var (status, body, _) = await GetAsync("/metrics", new AuthenticationHeaderValue("Bearer", SiloHostFixture.ApiKey));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("# TYPE", body, StringComparison.Ordinal);
    }
}

/// <summary>The silo's dashboard and metrics are as administrative as /api: a guessable key must stop the start.</summary>
public sealed class SiloHostStartupTests
{
    [Fact]
    public async Task A_short_admin_key_stops_the_silo_host_with_a_message_that_names_the_setting_not_the_key()
    {
        const string shortKey = "dash-key-7";
        await using var factory = new WebApplicationFactory<silo::Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ManagementApi:Endpoint", "http://127.0.0.1:9/local");
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:ClusterId", "silo-short-key-" + Guid.NewGuid().ToString("N")[..8]);
            web.UseSetting("Admin:ApiKeys:0", shortKey);
        });

        var failure = Assert.ThrowsAny<Exception>(() => factory.Server);
        var message = failure.ToString();
        Assert.Contains("Admin__ApiKeys", message, StringComparison.Ordinal);
        Assert.DoesNotContain(shortKey, message, StringComparison.Ordinal);
    }
}

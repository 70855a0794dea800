using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Tether.Api.Hosting;
using Tether.Testing;

namespace Tether.Tests.Api;

/// <summary>A draining node answers 503 with Retry-After, in each surface's own error format.</summary>
public sealed class DrainTests : IAsyncLifetime
{
    private const string ApiKey = "drain-test-api-key-0123456789";
    private WebApplicationFactory<Program> _factory = null!;

    public Task InitializeAsync()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("ManagementApi:Endpoint", "http://127.0.0.1:9/local");
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Admin:ApiKeys:0", ApiKey);
            web.UseSetting("LocalGateway:Enabled", "false");
        });
        _ = _factory.Server;
        _factory.Services.GetRequiredService<DrainState>().Begin();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task The_admin_api_answers_problem_details()
    {
        using var http = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/rooms/lobby");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Equal("draining", problem.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        Assert.False(problem.TryGetProperty("type", out var type) && type.GetString() == "error");
    }

    [Theory]
    [InlineData("/connect")]
    [InlineData("/disconnect")]
    [InlineData("/handle-event")]
    public async Task The_integration_endpoints_answer_their_error_shape(string path)
    {
        using var http = _factory.CreateClient();
        using var response = await http.PostAsync(path, new StringContent("{\"connection_id\":\"drainTest0001=\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("draining", error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Health_still_answers()
    {
        using var http = _factory.CreateClient();
        using var response = await http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

using System.Net;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Tether.Tests.Security;

/// <summary>Nothing administrative is reachable anonymously: checked over every endpoint the app maps, not a hand-made list.</summary>
[Collection(SecurityTests.Name)]
public sealed class AdminAuthTests(SecurityFixture fixture)
{
    private static readonly string[] IntegrationPaths = ["/connect", "/disconnect", "/handle-event"];

    /// <summary>The chat page (Development, or ChatPage__Enabled): its static files and the URL it connects to, for anyone.</summary>
    private static readonly string[] ChatPagePaths = ["/", "/chat/config.json", "/chat/probe0="];

    private List<(string Method, string Path)> AllEndpoints()
    {
        var sources = fixture.Factory.Services.GetRequiredService<EndpointDataSource>();
        return [.. sources.Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (m, Concrete(e.RoutePattern.RawText!))))];
    }

    private static string Concrete(string pattern)
    {
        var path = System.Text.RegularExpressions.Regex.Replace(pattern, "\\{[^}]+\\}", "probe0=");
        return path.StartsWith('/') ? path : "/" + path;
    }

    [Fact]
    public async Task Every_endpoint_but_health_needs_a_secret_or_an_api_key()
    {
        var endpoints = AllEndpoints();
        Assert.Contains(endpoints, e => e.Path.StartsWith("/api/", StringComparison.Ordinal));

        using var anonymous = fixture.Factory.CreateClient();
        using var wrongKey = fixture.Admin("admin-api-key-current-5d2c8e1f9b");
        // The page's exception is exactly these read-only routes.
        var chatPage = endpoints.Where(e => ChatPagePaths.Contains(e.Path)).ToList();
        Assert.Equal(ChatPagePaths.Length, chatPage.Count);
        Assert.All(chatPage, e => Assert.Equal("GET", e.Method));
        foreach (var (method, path) in endpoints.Where(e => !e.Path.StartsWith("/health/", StringComparison.Ordinal) && !ChatPagePaths.Contains(e.Path)))
        {
            foreach (var client in new[] { anonymous, wrongKey })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is "POST" or "PUT" or "PATCH" or "DELETE") request.Content = SecurityFixture.Json("{\"message\":1,\"connection_id\":\"probe0=\"}");
                using var response = await client.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized,
                    $"{method} {path} answered {(int)response.StatusCode} without valid credentials.");
            }
        }
        Assert.Equal(IntegrationPaths.Length, endpoints.Select(e => e.Path).Distinct().Count(IntegrationPaths.Contains));
    }

    [Theory]
    [InlineData(SecurityFixture.ApiKey, "Bearer")]
    [InlineData(SecurityFixture.OldApiKey, "Bearer")]
    [InlineData(SecurityFixture.ApiKey, "X-Api-Key")]
    public async Task Both_keys_of_a_rotation_work_in_either_header(string key, string scheme)
    {
        using var http = fixture.Factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/rooms/lobby");
        if (scheme == "Bearer") request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        else request.Headers.TryAddWithoutValidation("X-Api-Key", key);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

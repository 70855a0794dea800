using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Tether.Tests.Api;

namespace Tether.Tests.Operations;

[Collection(ApiTests.Name)]
public sealed class OpenApiTests(ApiFixture fixture)
{
    private async Task<JsonElement> DocumentAsync()
    {
        using var http = fixture.Factory.CreateClient();
        http.DefaultRequestHeaders.Add("X-Api-Key", ApiFixture.ApiKey);
        using var response = await http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Every endpoint the app maps, except those explicitly left out of the description (health, metrics).</summary>
    private List<(string Method, string Path)> DescribedEndpoints()
    {
        var source = fixture.Factory.Services.GetRequiredService<EndpointDataSource>();
        return
        [
            .. source.Endpoints.OfType<RouteEndpoint>()
                .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
                .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                    .Select(m => (m, "/" + e.RoutePattern.RawText!.TrimStart('/')))),
        ];
    }

    [Fact]
    public async Task The_document_lists_every_endpoint_with_a_summary()
    {
        var document = await DocumentAsync();
        var paths = document.GetProperty("paths");
        var endpoints = DescribedEndpoints();

        Assert.True(endpoints.Count >= 11, $"expected the integration and management endpoints, found {endpoints.Count}");
        foreach (var (method, path) in endpoints)
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is not in the OpenAPI document");
            Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out var operation), $"{method} {path} is not in the OpenAPI document");
            Assert.True(operation.TryGetProperty("summary", out var summary) && summary.GetString() is { Length: > 0 },
                $"{method} {path} has no summary: add it to TetherOpenApi");
        }
    }

    [Fact]
    public async Task The_document_covers_the_contract_routes_and_marks_the_management_api_as_authenticated()
    {
        var document = await DocumentAsync();
        var paths = document.GetProperty("paths");

        string[] integration = ["/connect", "/disconnect", "/handle-event"];
        foreach (var path in integration) Assert.True(paths.TryGetProperty(path, out _), path);
        Assert.True(paths.GetProperty("/disconnect").TryGetProperty("delete", out _));
        Assert.True(paths.GetProperty("/connect").GetProperty("post").TryGetProperty("requestBody", out _));
        var send = paths.GetProperty("/api/rooms/{room}/messages").GetProperty("post");
        Assert.True(send.TryGetProperty("security", out var security) && security.GetArrayLength() > 0);
        Assert.False(paths.GetProperty("/connect").GetProperty("post").TryGetProperty("security", out _));
        Assert.False(paths.TryGetProperty("/health/live", out _));
        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("bearer", out _));
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;

namespace Tether.Tests.Api;

/// <summary><c>batch</c> at <c>/connect</c>: as the template passes it (the query text) or as a JSON boolean, into the batch registry and out again.</summary>
[Collection(ApiTests.Name)]
public sealed class BatchConnectTests(ApiFixture fixture)
{
    private readonly HttpClient _http = fixture.Factory.CreateClient();

    private IGrainFactory Grains => fixture.Factory.Services.GetRequiredService<IGrainFactory>();

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string path, string json)
    {
        using var response = await _http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<bool> RegisteredAsync(string id) =>
        (await Grains.BatchRegistry(BatchRegistry.BucketOf(id)).GetConnections()).Contains(id);

    [Theory]
    [InlineData("\"1\"", true)]
    [InlineData("true", true)]
    [InlineData("\"true\"", true)]
    [InlineData("\"\"", false)]
    [InlineData("\"0\"", false)]
    [InlineData("false", false)]
    public async Task A_connection_that_asks_for_batches_is_in_the_registry_until_it_disconnects(string batch, bool registered)
    {
        var id = NewId();
        fixture.Connections.Add(id);

        var (status, body) = await PostAsync("/connect", $$"""{"connection_id":"{{id}}","batch":{{batch}}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(registered, await RegisteredAsync(id));

        (status, body) = await PostAsync("/disconnect", $$"""{"connection_id":"{{id}}"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(await RegisteredAsync(id), body);
    }

    [Fact]
    public async Task A_batch_value_that_means_nothing_is_refused_with_400()
    {
        var id = NewId();

        var (status, body) = await PostAsync("/connect", $$"""{"connection_id":"{{id}}","batch":"maybe"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_field", JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
        Assert.False(await RegisteredAsync(id));
    }
}

using System.Net;
using System.Text.Json;

namespace Tether.Tests.Security;

[Collection(SecurityTests.Name)]
public sealed class IntegrationSecretTests(SecurityFixture fixture)
{
    public static TheoryData<string?> WrongSecrets => new()
    {
        null,
        "",
        "gateway-secret-current-7f3a9c2e5b8",        // one character short
        "gateway-secret-current-7f3a9c2e5b8d%20",    // an encoded space is not white space
        "gateway-secret-current-7f3a9c2e5b8d\t0",    // a tab inside
        "gateway-secret-current-7f3a9c2e5b8D",       // last character's case
        "gateway-secret-current-7f3a9c2e5b8dx",      // one character long
        "GATEWAY-SECRET-CURRENT-7F3A9C2E5B8D",
        "gateway-secret-being-rotated-out-000",
        new string('a', 5000),
    };

    [Theory]
    [MemberData(nameof(WrongSecrets))]
    public async Task Every_integration_endpoint_refuses_a_missing_or_near_miss_secret(string? secret)
    {
        var id = SecurityFixture.NewId();
        using var http = fixture.Integration(secret);
        var token = fixture.Token();
        foreach (var (method, path, body) in new[]
                 {
                     (HttpMethod.Post, "/connect", $"{{\"connection_id\":\"{id}\",\"token\":\"{token}\"}}"),
                     (HttpMethod.Post, "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"message\":1}}}}"),
                     (HttpMethod.Delete, "/disconnect", $"{{\"connection_id\":\"{id}\"}}"),
                     (HttpMethod.Post, "/disconnect", $"{{\"connection_id\":\"{id}\"}}"),
                 })
        {
            using var request = new HttpRequestMessage(method, path) { Content = SecurityFixture.Json(body) };
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("error", json.GetProperty("type").GetString());
            Assert.Equal("unauthorized", json.GetProperty("code").GetString());
            Assert.Contains(SecurityFixture.SecretHeader, json.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using var admin = fixture.Admin();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/connections/{Uri.EscapeDataString(id)}")).StatusCode);
    }

    [Theory]
    [InlineData(SecurityFixture.Secret)]
    [InlineData(SecurityFixture.OldSecret)]
    public async Task Both_secrets_of_a_rotation_are_accepted(string secret)
    {
        var id = SecurityFixture.NewId();
        fixture.Connections.Add(id);
        using var http = fixture.Integration(secret);

        var connect = await http.PostAsync("/connect", SecurityFixture.Json($"{{\"connection_id\":\"{id}\",\"token\":\"{fixture.Token()}\"}}"));
        var send = await http.PostAsync("/handle-event", SecurityFixture.Json($"{{\"connection_id\":\"{id}\",\"body\":{{\"message\":\"hi\"}}}}"));
        using var disconnect = new HttpRequestMessage(HttpMethod.Delete, "/disconnect") { Content = SecurityFixture.Json($"{{\"connection_id\":\"{id}\"}}") };
        var gone = await http.SendAsync(disconnect);

        Assert.Equal(HttpStatusCode.OK, connect.StatusCode);
        Assert.Equal(HttpStatusCode.OK, send.StatusCode);
        Assert.Equal(HttpStatusCode.OK, gone.StatusCode);
    }

    [Fact]
    public async Task The_secret_header_sent_twice_is_refused()
    {
        using var http = fixture.Factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect")
        {
            Content = SecurityFixture.Json($"{{\"connection_id\":\"{SecurityFixture.NewId()}\",\"token\":\"{fixture.Token()}\"}}"),
        };
        request.Headers.TryAddWithoutValidation(SecurityFixture.SecretHeader, [SecurityFixture.Secret, "something-else-entirely-000"]);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Health_stays_anonymous()
    {
        using var http = fixture.Factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }
}

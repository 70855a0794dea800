using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Tether.Tests.Api;

/// <summary>
/// A sender refused by admission (docs/decisions/admission-refusal.md) hears 503 <c>overloaded</c> through the real
/// endpoints, in each surface's error shape, with Retry-After (and its requestId on /handle-event), and the message is
/// never delivered. Its own API: one worker, a mark of one queued post, a 300 ms admission wait.
/// </summary>
public sealed class OverloadedTests : IAsyncLifetime
{
    private readonly OverloadedApi _api = new();
    private HttpClient _http = null!;

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    public async Task InitializeAsync()
    {
        await _api.InitializeAsync();
        _http = _api.Factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _api.DisposeAsync();
    }

    /// <summary>One worker, a mark of one queued post, a 300 ms admission wait.</summary>
    private sealed class OverloadedApi : ApiFixture
    {
        protected override void Configure(IWebHostBuilder web)
        {
            web.UseSetting("Delivery:MaxConcurrency", "1");
            web.UseSetting("Delivery:MaxQueued", "1");
            web.UseSetting("Delivery:AdmissionTimeout", "00:00:00.300");
        }
    }

    [Fact]
    public async Task A_refused_message_answers_503_overloaded_in_each_surfaces_shape_and_is_never_delivered()
    {
        var room = "busy-" + Guid.NewGuid().ToString("N")[..8];
        var sender = NewId();
        var member = NewId();
        foreach (var id in new[] { sender, member })
        {
            _api.Connections.Add(id);
            using var connected = await PostAsync("/connect", $$"""{"connection_id":"{{id}}","rooms":["{{room}}"]}""");
            Assert.Equal(HttpStatusCode.OK, connected.StatusCode);
        }
        var dispatcher = _api.Factory.Services.GetRequiredService<DeliveryDispatcher>();
        await dispatcher.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _api.Gateway.Emulator.Faults.Latency = TimeSpan.FromSeconds(3);
        try
        {
            // Two posts for one worker at 3 s each: one in flight, one queued, at the mark, for 3 s.
            using (var first = await SendAsync(sender, room, "first", "req-1")) Assert.Equal(HttpStatusCode.OK, first.StatusCode);

            using var refused = await SendAsync(sender, room, "second", "req-2");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            using (var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()))
            {
                Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
                Assert.Equal("overloaded", body.RootElement.GetProperty("code").GetString());
                Assert.Equal("req-2", body.RootElement.GetProperty("requestId").GetString());
            }

            using var admin = new HttpRequestMessage(HttpMethod.Post, $"/api/rooms/{room}/messages")
            {
                Content = new StringContent("""{"message":"third"}""", Encoding.UTF8, "application/json"),
            };
            admin.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFixture.ApiKey);
            using var adminRefused = await _http.SendAsync(admin);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, adminRefused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), adminRefused.Headers.RetryAfter?.Delta);
            using (var problem = JsonDocument.Parse(await adminRefused.Content.ReadAsStringAsync()))
            {
                Assert.Equal("overloaded", problem.RootElement.GetProperty("code").GetString());
            }
        }
        finally
        {
            _api.Gateway.Emulator.Faults.Latency = TimeSpan.Zero;
        }
        await dispatcher.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains(_api.Connections.Received(member), m => m.Contains("first", StringComparison.Ordinal));
        Assert.DoesNotContain(_api.Connections.Received(member), m => m.Contains("second", StringComparison.Ordinal) || m.Contains("third", StringComparison.Ordinal));
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        _http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private Task<HttpResponseMessage> SendAsync(string sender, string room, string text, string requestId) =>
        PostAsync("/handle-event", $$$"""{"connection_id":"{{{sender}}}","body":{"action":"sendmessage","room":"{{{room}}}","message":"{{{text}}}","requestId":"{{{requestId}}}"}}""");
}

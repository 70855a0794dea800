using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Tether.Hosting;
using Tether.Tests.Api;

namespace Tether.Tests.Operations;

/// <summary>Tether's meter, observed with a <see cref="MeterListener"/> while real requests go through the API.</summary>
[Collection(ApiTests.Name)]
public sealed class MetricsTests(ApiFixture fixture) : IDisposable
{
    private readonly HttpClient _http = fixture.Factory.CreateClient();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private void Listen()
    {
        // Only this host's meter: other hosts in the test process have meters of the same name.
        var meter = fixture.Factory.Services.GetRequiredService<MessageMetrics>().Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, tagValue) in tags) copy[key] = tagValue;
        _measurements.Enqueue((instrument.Name, value, copy));
    }

    private double Sum(string instrument, string? tag = null, string? value = null) =>
        _measurements.Where(m => m.Instrument == instrument && (tag is null || Equals(m.Tags.GetValueOrDefault(tag), value))).Sum(m => m.Value);

    private async Task<HttpStatusCode> PostAsync(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(path, content);
        return response.StatusCode;
    }

    [Fact]
    public async Task Connects_messages_deliveries_410s_and_retries_move_the_counters()
    {
        // Posts left by earlier tests would end while we listen and unbalance the in-flight sum.
        await fixture.DrainAsync();
        Listen();
        var room = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        var a = NewId();
        var b = NewId();
        fixture.Connections.Add(a);
        fixture.Connections.Add(b);

        Assert.Equal(HttpStatusCode.OK, await PostAsync("/connect", $"{{\"connection_id\":\"{a}\",\"rooms\":[\"{room}\"]}}"));
        Assert.Equal(HttpStatusCode.OK, await PostAsync("/connect", $"{{\"connection_id\":\"{b}\",\"rooms\":[\"{room}\"]}}"));
        await fixture.DrainAsync();
        var afterConnect = _measurements.Count;

        // One message to the room: two posts (echo to a, and b), one of them throttled once and then delivered.
        fixture.Gateway.Emulator.Faults.Script(b, 429);
        Assert.Equal(HttpStatusCode.OK, await PostAsync("/handle-event",
            $"{{\"connection_id\":\"{a}\",\"body\":{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":\"hi\"}}}}"));
        await fixture.DrainAsync();

        // b vanishes at API Gateway: the next message's post to b answers 410 and b is removed.
        fixture.Connections.Vanish(b);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/rooms/{room}/messages?wait=true")
        {
            Content = new StringContent("{\"message\":2}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFixture.ApiKey);
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await fixture.DrainAsync();

        Assert.True(afterConnect > 0);
        Assert.True(Sum("tether.connections.connected") >= 2);
        Assert.True(Sum("tether.connections.active") >= 1, "two connects minus one removal");
        Assert.True(Sum("tether.messages.received", "source", "client") >= 1);
        Assert.True(Sum("tether.messages.received", "source", "api") >= 1);
        Assert.True(Sum("tether.deliveries", "outcome", "delivered") >= 3, "a and b for the first message, a for the second");
        Assert.True(Sum("tether.deliveries", "outcome", "gone") >= 1);
        Assert.True(Sum("tether.connections.disconnected", "reason", "gone") >= 1);
        Assert.True(Sum("tether.management_api.retries", "reason", "throttled") >= 1);
        Assert.Contains(_measurements, m => m.Instrument == "tether.fanout.duration" && Equals(m.Tags["target"], "room") && m.Value >= 0);
        Assert.True(_measurements.Count(m => m.Instrument == "tether.deliveries.in_flight" && m.Value > 0) >= 4);
        Assert.Equal(0, Sum("tether.deliveries.in_flight"));
        // Labels stay bounded: no measurement carries a connection id or a room name.
        Assert.DoesNotContain(_measurements, m => m.Tags.Values.Any(v => v is string s && (s == a || s == b || s == room)));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _http.Dispose();
    }
}

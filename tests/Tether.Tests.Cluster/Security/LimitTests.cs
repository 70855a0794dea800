using System.Net;
using System.Text.Json;
using Tether.Contracts;

namespace Tether.Tests.Security;

public sealed class LimitTests(LimitsFixture fixture) : IClassFixture<LimitsFixture>
{
    private readonly HttpClient _http = fixture.Integration();

    private async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(string path, string json)
    {
        using var response = await _http.PostAsync(path, SecurityFixture.Json(json));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<string> ConnectAsync(string extra = "")
    {
        var id = SecurityFixture.NewId();
        fixture.Connections.Add(id);
        var (status, _) = await PostAsync("/connect", $"{{\"connection_id\":\"{id}\"{extra}}}");
        Assert.Equal(HttpStatusCode.OK, status);
        return id;
    }

    private Task<(HttpStatusCode, JsonElement)> EventAsync(string id, string body) =>
        PostAsync("/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{body}}}");

    private static void AssertError((HttpStatusCode Status, JsonElement Json) reply, HttpStatusCode status, string code)
    {
        Assert.Equal(status, reply.Status);
        Assert.Equal("error", reply.Json.GetProperty("type").GetString());
        Assert.Equal(code, reply.Json.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(reply.Json.GetProperty("message").GetString()));
    }

    private static string Room() => "r-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Rooms_per_connection_are_limited_at_connect_and_on_join()
    {
        var (a, b, c) = (Room(), Room(), Room());
        AssertError(await PostAsync("/connect", $"{{\"connection_id\":\"{SecurityFixture.NewId()}\",\"rooms\":[\"{a}\",\"{b}\",\"{c}\"]}}"),
            HttpStatusCode.BadRequest, "too_many_rooms");

        var id = await ConnectAsync($",\"rooms\":\"{a},{b}\"");
        AssertError(await EventAsync(id, $"{{\"action\":\"joinroom\",\"room\":\"{c}\"}}"), HttpStatusCode.Forbidden, "too_many_rooms");
        var (left, _) = await EventAsync(id, $"{{\"action\":\"leaveroom\",\"room\":\"{a}\"}}");
        var (joined, _) = await EventAsync(id, $"{{\"action\":\"joinroom\",\"room\":\"{c}\"}}");

        Assert.Equal(HttpStatusCode.OK, left);
        Assert.Equal(HttpStatusCode.OK, joined);
    }

    [Fact]
    public async Task A_full_room_refuses_joins_and_is_left_out_at_connect()
    {
        var room = Room();
        var first = await ConnectAsync($",\"rooms\":[\"{room}\"]");
        var second = await ConnectAsync();
        var (joined, _) = await EventAsync(second, $"{{\"action\":\"joinroom\",\"room\":\"{room}\"}}");
        var third = await ConnectAsync();

        AssertError(await EventAsync(third, $"{{\"action\":\"joinroom\",\"room\":\"{room}\"}}"), HttpStatusCode.Forbidden, "room_full");
        var (_, connected) = await PostAsync("/connect", $"{{\"connection_id\":\"{SecurityFixture.NewId()}\",\"rooms\":[\"{room}\"]}}");
        AssertError(await EventAsync(third, $"{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":1}}"), HttpStatusCode.Forbidden, "not_in_room");
        // A member that joins again is not refused by its own room being full.
        var (again, _) = await EventAsync(first, $"{{\"action\":\"joinroom\",\"room\":\"{room}\"}}");

        Assert.Equal(HttpStatusCode.OK, joined);
        Assert.Empty(connected.GetProperty("rooms").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, again);
        using var admin = fixture.Admin();
        var info = JsonDocument.Parse(await admin.GetStringAsync($"/api/rooms/{room}")).RootElement;
        Assert.Equal(2, info.GetProperty("members").GetInt32());
    }

    [Fact]
    public async Task Messages_per_second_are_limited_per_connection()
    {
        var room = Room();
        var id = await ConnectAsync($",\"rooms\":[\"{room}\"]");
        var other = await ConnectAsync($",\"rooms\":[\"{room}\"]");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            statuses.Add((await EventAsync(id, $"{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":{i}}}")).Item1);
        }
        var (otherStatus, _) = await EventAsync(other, $"{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":\"mine\"}}");

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.OK, 5).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 2)), statuses);
        AssertError(await EventAsync(id, "{\"action\":\"joinroom\",\"room\":\"elsewhere\"}"), HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.Equal(HttpStatusCode.OK, otherStatus);
    }

    [Fact]
    public async Task Message_and_body_sizes_are_limited()
    {
        var room = Room();
        var id = await ConnectAsync($",\"rooms\":[\"{room}\"]");
        var big = new string('x', 1100);

        AssertError(await EventAsync(id, $"{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":\"{big}\"}}"), HttpStatusCode.RequestEntityTooLarge, "message_too_large");
        AssertError(await EventAsync(id, $"{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":\"{new string('y', 5000)}\"}}"), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        using var admin = fixture.Admin();
        using var adminBig = await admin.PostAsync($"/api/rooms/{room}/messages", SecurityFixture.Json($"{{\"message\":\"{big}\"}}"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, adminBig.StatusCode);
    }

    [Theory]
    [InlineData("UPPER")]
    [InlineData("seventeen-chars-x")]
    [InlineData("a\\u202eb")]
    [InlineData("a\\u200db")]
    [InlineData("a b")]
    [InlineData("\\ud800")]
    [InlineData("tab\\t")]
    public async Task Room_names_follow_the_configured_rules(string escapedName)
    {
        var id = await ConnectAsync();
        AssertError(await EventAsync(id, $"{{\"action\":\"joinroom\",\"room\":\"{escapedName}\"}}"), HttpStatusCode.BadRequest, "invalid_room");
        AssertError(await PostAsync("/connect", $"{{\"connection_id\":\"{SecurityFixture.NewId()}\",\"rooms\":[\"{escapedName}\"]}}"), HttpStatusCode.BadRequest, "invalid_room");
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("..%2F..")]
    [InlineData("a%2Fb")]
    [InlineData("a/../b")]
    [InlineData("a b")]
    [InlineData("abc==x")]
    [InlineData("abc===")]
    [InlineData("=")]
    [InlineData("a\\u0000b")]
    [InlineData("a\\\\b")]
    [InlineData("a?b")]
    [InlineData("a#b")]
    [InlineData("ü")]
    public async Task Connection_ids_outside_API_Gateways_alphabet_never_pass(string escapedId)
    {
        foreach (var path in new[] { "/connect", "/handle-event", "/disconnect" })
        {
            AssertError(await PostAsync(path, $"{{\"connection_id\":\"{escapedId}\",\"body\":{{\"message\":1}}}}"), HttpStatusCode.BadRequest, "invalid_connection_id");
        }
    }

    [Fact]
    public async Task An_id_with_a_slash_reaches_the_right_connection_percent_encoded()
    {
        var id = "ab/cd+ef" + Guid.NewGuid().ToString("N")[..7] + "=";
        fixture.Connections.Add(id);
        var (status, _) = await PostAsync("/connect", $"{{\"connection_id\":\"{id}\",\"rooms\":[\"solo\"]}}");
        var (sent, _) = await EventAsync(id, "{\"action\":\"sendmessage\",\"room\":\"solo\",\"message\":\"to myself\"}");
        await fixture.DrainAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.OK, sent);
        Assert.Contains(fixture.Connections.Received(id), m => m.Contains("to myself", StringComparison.Ordinal));
        Assert.Equal(new Uri(fixture.Gateway.ConnectionUrl, "local/@connections/" + id.Replace("/", "%2F", StringComparison.Ordinal).Replace("+", "%2B", StringComparison.Ordinal).Replace("=", "%3D", StringComparison.Ordinal)).AbsolutePath,
            new Tether.Delivery.ManagementApiClient(fixture.Gateway.ConnectionUrl, "us-east-1", TestCredentials.Aws, new(), Microsoft.Extensions.Logging.Abstractions.NullLogger<Tether.Delivery.ManagementApiClient>.Instance).ConnectionUri(id).AbsolutePath);
    }

    [Theory]
    [InlineData("team-*", "team-red", true)]
    [InlineData("team-*", "team-", true)]
    [InlineData("team-*", "teams", false)]
    [InlineData("*-public", "a-public", true)]
    [InlineData("*", "anything", true)]
    [InlineData("a*b*c", "aXbYc", true)]
    [InlineData("a*b*c", "aXbY", false)]
    [InlineData("general", "general", true)]
    [InlineData("general", "General", false)]
    [InlineData("**", "", true)]
    public void Room_patterns_match_with_stars_only(string pattern, string room, bool matches) =>
        Assert.Equal(matches, RoomPatterns.Matches(pattern, room));
}

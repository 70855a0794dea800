using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tether.Tests.Api;

/// <summary>
/// Contract §7 and §8's ping on the wire: <c>requestId</c> echoed by every reply, seq and epoch in replies and on the
/// admin API, the messages endpoint, and bad input answered with the contract's 4xx, changing nothing.
/// </summary>
[Collection(ApiTests.Name)]
public sealed class StreamProtocolTests(ApiFixture fixture)
{
    private const string Room = "stream-protocol";
    private readonly HttpClient _http = fixture.Factory.CreateClient();

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await _http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
        }
    }

    private Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(string path, string json) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

    private Task<(HttpStatusCode Status, JsonElement Json)> EventAsync(string id, string body) =>
        PostAsync("/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{body}}}");

    private static HttpRequestMessage Admin(HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFixture.ApiKey);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return request;
    }

    private async Task<string> ConnectAsync(string rooms = "")
    {
        var id = NewId();
        fixture.Connections.Add(id);
        var (status, _) = await PostAsync("/connect", $"{{\"connection_id\":\"{id}\",\"rooms\":\"{rooms}\"}}");
        Assert.Equal(HttpStatusCode.OK, status);
        return id;
    }

    [Fact]
    public async Task Every_reply_echoes_the_request_id_and_sends_carry_seq_and_epoch()
    {
        var room = "echo-" + Guid.NewGuid().ToString("N")[..6];
        var id = await ConnectAsync();

        var (_, joined) = await EventAsync(id, $"{{\"action\":\"joinroom\",\"room\":\"{room}\",\"requestId\":\"j-1\"}}");
        var (_, sent) = await EventAsync(id, $"{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":1,\"requestId\":\"s-1\"}}");
        var (_, again) = await EventAsync(id, $"{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":1,\"requestId\":\"s-1\"}}");
        var (_, error) = await EventAsync(id, "{\"action\":\"leaveroom\",\"room\":\"nowhere\",\"requestId\":\"e-1\"}");
        var (_, invalid) = await EventAsync(id, "{\"action\":\"history\",\"requestId\":\"e-2\"}");
        var (pongStatus, pong) = await EventAsync(id, "{\"action\":\"ping\",\"requestId\":\"p-1\"}");
        var (_, history) = await EventAsync(id, $"{{\"action\":\"history\",\"room\":\"{room}\",\"requestId\":\"h-1\"}}");
        await fixture.DrainAsync();

        Assert.Equal(("joined", "j-1", 0L), (joined.GetProperty("type").GetString(), joined.GetProperty("requestId").GetString(), joined.GetProperty("seq").GetInt64()));
        var epoch = joined.GetProperty("epoch").GetString();
        Assert.Equal(("sent", "s-1", 1L, epoch), (sent.GetProperty("type").GetString(), sent.GetProperty("requestId").GetString(), sent.GetProperty("seq").GetInt64(), sent.GetProperty("epoch").GetString()));
        Assert.Equal((sent.GetProperty("id").GetString(), 1L), (again.GetProperty("id").GetString(), again.GetProperty("seq").GetInt64()));
        Assert.Equal(("error", "e-1"), (error.GetProperty("type").GetString(), error.GetProperty("requestId").GetString()));
        Assert.Equal(("invalid_message", "e-2"), (invalid.GetProperty("code").GetString(), invalid.GetProperty("requestId").GetString()));
        Assert.Equal((HttpStatusCode.OK, "pong", "p-1"), (pongStatus, pong.GetProperty("type").GetString(), pong.GetProperty("requestId").GetString()));
        Assert.True(DateTimeOffset.TryParse(pong.GetProperty("time").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.Equal(("history", epoch, false), (history.GetProperty("type").GetString(), history.GetProperty("epoch").GetString(), history.GetProperty("more").GetBoolean()));
        Assert.Equal(1L, Assert.Single(history.GetProperty("messages").EnumerateArray()).GetProperty("seq").GetInt64());
        // Delivered once, with its position.
        var delivered = Assert.Single(fixture.Connections.Received(id).Select(m => JsonDocument.Parse(m).RootElement), e => e.GetProperty("type").GetString() == "message");
        Assert.Equal((1L, epoch), (delivered.GetProperty("seq").GetInt64(), delivered.GetProperty("epoch").GetString()));
    }

    [Fact]
    public async Task The_admin_api_sends_with_seq_and_pages_a_rooms_messages_by_seq()
    {
        var room = "admin-" + Guid.NewGuid().ToString("N")[..6];
        var posted = new List<JsonElement>();
        for (var i = 0; i < 5; i++)
        {
            var (status, json) = await SendAsync(Admin(HttpMethod.Post, $"/api/rooms/{room}/messages", $"{{\"message\":{i}}}"));
            Assert.Equal(HttpStatusCode.Accepted, status);
            posted.Add(json);
        }

        var (firstStatus, first) = await SendAsync(Admin(HttpMethod.Get, $"/api/rooms/{room}/messages?limit=3"));
        var (_, rest) = await SendAsync(Admin(HttpMethod.Get, $"/api/rooms/{room}/messages?since=3&limit=3"));

        Assert.Equal([1L, 2, 3, 4, 5], posted.Select(p => p.GetProperty("seq").GetInt64()));
        var epoch = posted[0].GetProperty("epoch").GetString();
        Assert.Equal(HttpStatusCode.OK, firstStatus);
        Assert.Equal((room, epoch, 5L, true), (first.GetProperty("room").GetString(), first.GetProperty("epoch").GetString(), first.GetProperty("seq").GetInt64(), first.GetProperty("more").GetBoolean()));
        Assert.Equal([1L, 2, 3], first.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()));
        Assert.Equal([4L, 5], rest.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()));
        Assert.False(rest.GetProperty("more").GetBoolean());
        Assert.Equal(posted[3].GetProperty("id").GetString(), rest.GetProperty("items")[0].GetProperty("id").GetString());
    }

    public static TheoryData<string, int, string> BadClientMessages()
    {
        var tooManyRooms = string.Join(',', Enumerable.Range(0, 101).Select(i => $"\"r{i}\":{{\"epoch\":\"e\",\"seq\":0}}"));
        return new()
        {
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":5,\"seq\":1}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":\"{new string('e', 33)}\",\"seq\":1}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":\"\",\"seq\":1}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":\"e\",\"seq\":-1}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":\"e\",\"seq\":9007199254740992}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":\"e\",\"seq\":1e400}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":\"e\",\"seq\":1.5}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":\"e\",\"seq\":\"3\"}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":{{\"epoch\":\"e\"}}}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"{Room}\",\"since\":3}}", 400, "invalid_message" },
            { $"{{\"action\":\"joinroom\",\"room\":\"bad room\",\"since\":{{\"epoch\":\"e\",\"seq\":0}}}}", 400, "invalid_room" },
            { $"{{\"action\":\"sendmessage\",\"room\":\"{Room}\",\"message\":1,\"requestId\":\"{new string('r', 65)}\"}}", 400, "invalid_message" },
            { $"{{\"action\":\"sendmessage\",\"room\":\"{Room}\",\"message\":1,\"requestId\":\"réq\"}}", 400, "invalid_message" },
            { $"{{\"action\":\"sendmessage\",\"room\":\"{Room}\",\"message\":1,\"requestId\":\"a b\"}}", 400, "invalid_message" },
            { $"{{\"action\":\"sendmessage\",\"room\":\"{Room}\",\"message\":1,\"requestId\":\"\"}}", 400, "invalid_message" },
            { $"{{\"action\":\"sendmessage\",\"room\":\"{Room}\",\"message\":1,\"requestId\":7}}", 400, "invalid_message" },
            { $"{{\"action\":\"history\",\"room\":\"{Room}\",\"limit\":0}}", 400, "invalid_message" },
            { $"{{\"action\":\"history\",\"room\":\"{Room}\",\"limit\":101}}", 400, "invalid_message" },
            { $"{{\"action\":\"history\",\"room\":\"{Room}\",\"limit\":2.5}}", 400, "invalid_message" },
            { $"{{\"action\":\"history\",\"room\":\"{Room}\",\"before\":0}}", 400, "invalid_message" },
            { $"{{\"action\":\"history\",\"room\":\"{Room}\",\"before\":-4}}", 400, "invalid_message" },
            { "{\"action\":\"history\"}", 400, "invalid_message" },
            { "{\"action\":\"history\",\"room\":\"not-joined\"}", 403, "not_in_room" },
            { "{\"action\":\"resume\"}", 400, "invalid_message" },
            { "{\"action\":\"resume\",\"rooms\":[\"a\"]}", 400, "invalid_message" },
            { "{\"action\":\"resume\",\"rooms\":{\"bad room\":{\"epoch\":\"e\",\"seq\":0}}}", 400, "invalid_room" },
            { "{\"action\":\"resume\",\"rooms\":{\"a\":{\"epoch\":\"e\",\"seq\":-1}}}", 400, "invalid_message" },
            { "{\"action\":\"resume\",\"user\":{\"epoch\":\"e\",\"seq\":0.5}}", 400, "invalid_message" },
            { $"{{\"action\":\"resume\",\"rooms\":{{{tooManyRooms}}}}}", 400, "too_many_rooms" },
        };
    }

    [Theory]
    [MemberData(nameof(BadClientMessages))]
    public async Task Bad_stream_messages_get_the_contract_error_and_change_nothing(string body, int status, string code)
    {
        var id = await ConnectAsync(Room);
        var (_, before) = await SendAsync(Admin(HttpMethod.Get, $"/api/rooms/{Room}/messages"));
        var (_, connection) = await SendAsync(Admin(HttpMethod.Get, $"/api/connections/{Uri.EscapeDataString(id)}"));

        var (actual, json) = await EventAsync(id, body);

        Assert.Equal(((HttpStatusCode)status, code), (actual, json.GetProperty("code").GetString()));
        var (_, after) = await SendAsync(Admin(HttpMethod.Get, $"/api/rooms/{Room}/messages"));
        var (_, connectionAfter) = await SendAsync(Admin(HttpMethod.Get, $"/api/connections/{Uri.EscapeDataString(id)}"));
        Assert.Equal((before.GetProperty("epoch").GetString(), before.GetProperty("seq").GetInt64()), (after.GetProperty("epoch").GetString(), after.GetProperty("seq").GetInt64()));
        Assert.Equal(connection.GetProperty("rooms").GetRawText(), connectionAfter.GetProperty("rooms").GetRawText());
    }

    [Theory]
    [InlineData("since=-1")]
    [InlineData("since=abc")]
    [InlineData("since=1.5")]
    [InlineData("since=99999999999999999999")]
    [InlineData("since=1&since=2")]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=ten")]
    public async Task Bad_messages_queries_get_a_problem_400(string query)
    {
        var (status, json) = await SendAsync(Admin(HttpMethod.Get, $"/api/rooms/{Room}/messages?{query}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(400, json.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task A_bad_room_name_in_the_messages_path_gets_a_problem_400()
    {
        var (status, json) = await SendAsync(Admin(HttpMethod.Get, "/api/rooms/bad%20room/messages"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Invalid room", json.GetProperty("title").GetString());
    }
}

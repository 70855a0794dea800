using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;
using Tether.LocalGateway;

namespace Tether.Tests.Api;

[Collection(ApiTests.Name)]
public sealed class EndpointTests(ApiFixture fixture)
{
    private readonly HttpClient _http = fixture.Factory.CreateClient();

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private static StringContent Body(string json, string? contentType = "application/json")
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(HttpMethod method, string path, string json, string? contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path) { Content = Body(json, contentType) };
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private Task<(HttpStatusCode, JsonElement)> PostAsync(string path, string json, string? contentType = "application/json") =>
        SendAsync(HttpMethod.Post, path, json, contentType);

    private async Task<string> ConnectAsync(string extra = "")
    {
        var id = NewId();
        fixture.Connections.Add(id);
        var (status, _) = await PostAsync("/connect", $"{{\"connection_id\":\"{id}\"{extra}}}");
        Assert.Equal(HttpStatusCode.OK, status);
        return id;
    }

    private List<JsonElement> Received(string id) =>
        fixture.Connections.Received(id).Select(m => JsonDocument.Parse(m).RootElement).ToList();

    private static HttpRequestMessage Admin(HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFixture.ApiKey);
        if (json is not null) request.Content = Body(json);
        return request;
    }

    [Fact]
    public async Task The_seed_flow_works_with_its_exact_bodies()
    {
        var a = await ConnectAsync();
        var b = await ConnectAsync();

        var (joinStatus, joined) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{a}\",\"body\":{{\"action\":\"joinroom\",\"message\":\"connected\"}}}}");
        var (chatStatus, sent) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{a}\",\"body\":{{\"action\":\"chat\",\"message\":\"Hello world! message 1\"}}}}");
        await fixture.DrainAsync();
        var (disconnectStatus, _) = await SendAsync(HttpMethod.Delete, "/disconnect", $"{{\"connection_id\":\"{a}\"}}");

        Assert.Equal(HttpStatusCode.OK, joinStatus);
        Assert.Equal("joined", joined.GetProperty("type").GetString());
        Assert.Equal("lobby", joined.GetProperty("room").GetString());
        Assert.Equal(HttpStatusCode.OK, chatStatus);
        Assert.Equal("sent", sent.GetProperty("type").GetString());
        Assert.Equal("lobby", sent.GetProperty("room").GetString());
        var message = Assert.Single(Received(b), m => m.GetProperty("id").GetString() == sent.GetProperty("id").GetString());
        Assert.Equal("Hello world! message 1", message.GetProperty("body").GetString());
        Assert.Equal(a, message.GetProperty("from").GetString());
        Assert.Equal(HttpStatusCode.OK, disconnectStatus);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/octet-stream")]
    public async Task Any_or_no_content_type_is_accepted(string? contentType)
    {
        var id = NewId();
        var (status, json) = await PostAsync("/connect", $"{{\"connection_id\":\"{id}\"}}", contentType);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("connected", json.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Connect_with_API_Gateways_websocket_headers_is_accepted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect") { Content = Body($"{{\"connection_id\":\"{NewId()}\"}}") };
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Version", "13");
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Connect_takes_user_rooms_and_identity_and_repeats_are_harmless()
    {
        var id = NewId();
        var body = $"{{\"connection_id\":\"{id}\",\"user\":\"erin\",\"rooms\":\"alpha, beta\",\"source_ip\":\"192.0.2.1\",\"user_agent\":\"wscat\",\"connected_at\":1700000000000,\"request_id\":\"r-1\"}}";

        var (first, _) = await PostAsync("/connect", body);
        var (second, json) = await PostAsync("/connect", body);
        using var response = await _http.SendAsync(Admin(HttpMethod.Get, $"/api/connections/{Uri.EscapeDataString(id)}"));
        var info = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first, second));
        Assert.Equal(["alpha", "beta", "lobby"], info.GetProperty("rooms").EnumerateArray().Select(r => r.GetString()!).ToArray());
        Assert.Equal("erin", info.GetProperty("user").GetString());
        Assert.Equal("192.0.2.1", info.GetProperty("sourceIp").GetString());
        Assert.Equal("2023-11-14T22:13:20.0000000Z", info.GetProperty("connectedAt").GetString());
        Assert.Equal(3, json.GetProperty("rooms").GetArrayLength());
    }

    [Fact]
    public async Task Disconnect_accepts_delete_and_post_and_unknown_ids()
    {
        var id = await ConnectAsync();
        var (deleted, _) = await SendAsync(HttpMethod.Delete, "/disconnect", $"{{\"connection_id\":\"{id}\",\"status_code\":1001,\"reason\":\"going away\"}}");
        var (posted, _) = await PostAsync("/disconnect", $"{{\"connection_id\":\"{id}\"}}");
        var (unknown, _) = await PostAsync("/disconnect", $"{{\"connection_id\":\"{NewId()}\"}}");
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK), (deleted, posted, unknown));
    }

    [Theory]
    [InlineData("", "invalid_json")]
    [InlineData("{", "invalid_json")]
    [InlineData("[1]", "invalid_json")]
    [InlineData("{\"connection_id\":42}", "invalid_connection_id")]
    [InlineData("{\"connection_id\":\"../etc\"}", "invalid_connection_id")]
    [InlineData("{\"connection_id\":\"a%2Fb\"}", "invalid_connection_id")]
    [InlineData("{\"connection_id\":\"abc\",\"connection_id\":\"def\"}", "invalid_json")]
    [InlineData("{\"connection_id\":\"abc\",\"rooms\":[\"ok\",\"not ok\"]}", "invalid_room")]
    [InlineData("{\"connection_id\":\"abc\",\"rooms\":{}}", "invalid_room")]
    [InlineData("{\"connection_id\":\"abc\",\"user\":7}", "invalid_field")]
    [InlineData("{\"connection_id\":\"abc\",\"user\":\" \"}", "invalid_field")]
    [InlineData("{\"connection_id\":\"abc\",\"connected_at\":\"yesterday\"}", "invalid_field")]
    public async Task Bad_connect_bodies_get_a_clear_400(string body, string code)
    {
        var (status, json) = await PostAsync("/connect", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal(code, json.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(json.GetProperty("message").GetString()));
    }

    [Theory]
    [InlineData("{\"action\":\"leaveroom\"}", 400, "invalid_message")]
    [InlineData("{\"action\":\"sendmessage\",\"room\":\"lobby\"}", 400, "invalid_message")]
    [InlineData("{\"action\":\"sendto\",\"message\":1}", 400, "invalid_message")]
    [InlineData("{\"action\":\"sendto\",\"user\":\" \",\"message\":1}", 400, "invalid_message")]
    [InlineData("{\"action\":\"sendto\",\"user\":\"\\u3000\",\"message\":1}", 400, "invalid_message")]
    [InlineData("{\"action\":\"sendto\",\"connectionId\":\"x/../y%\",\"message\":1}", 400, "invalid_connection_id")]
    [InlineData("{\"action\":\"mystery\"}", 400, "invalid_message")]
    [InlineData("{\"action\":\"joinroom\",\"room\":\"\"}", 400, "invalid_room")]
    [InlineData("{\"action\":\"joinroom\",\"room\":5}", 400, "invalid_message")]
    [InlineData("{\"action\":\"sendmessage\",\"room\":\"lobby\",\"message\":1,\"echo\":\"no\"}", 400, "invalid_message")]
    [InlineData("{\"action\":\"sendmessage\",\"room\":\"elsewhere\",\"message\":1}", 403, "not_in_room")]
    [InlineData("{\"action\":\"leaveroom\",\"room\":\"elsewhere\"}", 409, "not_in_room")]
    [InlineData("{\"action\":\"sendto\",\"connectionId\":\"nobody0=\",\"message\":1}", 404, "recipient_not_found")]
    [InlineData("null", 400, "invalid_message")]
    public async Task Bad_client_messages_get_the_contract_error_reply(string message, int status, string code)
    {
        var id = await ConnectAsync();
        var (actual, json) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{message}}}");
        Assert.Equal((HttpStatusCode)status, actual);
        Assert.Equal(code, json.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_message_from_an_unknown_connection_is_refused()
    {
        var (status, json) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{NewId()}\",\"body\":{{\"message\":1}}}}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("unknown_connection", json.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Join_send_and_leave_a_named_room_with_bare_and_string_bodies()
    {
        var a = await ConnectAsync();
        var b = await ConnectAsync();
        var room = "chat-" + Guid.NewGuid().ToString("N")[..6];

        var (_, joinedA) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{a}\",\"body\":{{\"action\":\"joinroom\",\"room\":\"{room}\"}}}}");
        var (_, joinedB) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{b}\",\"body\":\"{{\\\"action\\\":\\\"joinroom\\\",\\\"room\\\":\\\"{room}\\\"}}\"}}");
        var (_, sent) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{a}\",\"body\":{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":{{\"x\":[1,true,null]}},\"echo\":false}}}}");
        var (_, bare) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{a}\",\"body\":\"just text\"}}");
        var (leftStatus, left) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{b}\",\"body\":{{\"action\":\"leaveroom\",\"room\":\"{room}\"}}}}");
        await fixture.DrainAsync();

        Assert.Equal(1, joinedA.GetProperty("members").GetInt32());
        Assert.Equal(2, joinedB.GetProperty("members").GetInt32());
        Assert.Equal(1, sent.GetProperty("recipients").GetInt32());
        Assert.Equal("lobby", bare.GetProperty("room").GetString());
        Assert.Equal((HttpStatusCode.OK, "left"), (leftStatus, left.GetProperty("type").GetString()));

        var toB = Received(b).Where(m => m.GetProperty("type").GetString() == "message").ToList();
        Assert.Contains(toB, m => m.GetProperty("body").GetRawText() == "{\"x\":[1,true,null]}" && m.GetProperty("room").GetString() == room);
        Assert.Contains(toB, m => m.GetProperty("body").GetRawText() == "\"just text\"");
        Assert.DoesNotContain(Received(a), m => m.GetProperty("type").GetString() == "message" && m.GetProperty("room").GetString() == room);
        Assert.Contains(Received(a), m => m.GetProperty("type").GetString() == "presence" && m.GetProperty("event").GetString() == "leave");
    }

    [Fact]
    public async Task Sendto_a_user_reaches_all_their_connections()
    {
        var user = "fay-" + Guid.NewGuid().ToString("N")[..6];
        var sender = await ConnectAsync();
        var first = await ConnectAsync($",\"user\":\"{user}\"");
        var second = await ConnectAsync($",\"user\":\"{user}\"");

        var (status, sent) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{sender}\",\"body\":{{\"action\":\"sendto\",\"user\":\"{user}\",\"message\":\"hey\"}}}}");
        await fixture.DrainAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, sent.GetProperty("recipients").GetInt32());
        Assert.Equal(JsonValueKind.Null, sent.GetProperty("room").ValueKind);
        foreach (var id in new[] { first, second })
        {
            Assert.Contains(Received(id), m => m.GetProperty("id").GetString() == sent.GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task A_message_over_128_KiB_is_refused_with_413()
    {
        var id = await ConnectAsync();
        var big = new string('x', 130 * 1024);
        var (status, json) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"message\":\"{big}\"}}}}");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("message_too_large", json.GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_management_api_needs_a_key()
    {
        using var none = await _http.GetAsync("/api/rooms/lobby");
        using var wrongRequest = new HttpRequestMessage(HttpMethod.Get, "/api/rooms/lobby");
        wrongRequest.Headers.TryAddWithoutValidation("X-Api-Key", "nope");
        using var wrong = await _http.SendAsync(wrongRequest);
        using var rotatedRequest = new HttpRequestMessage(HttpMethod.Get, "/api/rooms/lobby");
        rotatedRequest.Headers.TryAddWithoutValidation("X-Api-Key", "old-key-being-rotated-out");
        using var rotated = await _http.SendAsync(rotatedRequest);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
    }

    [Fact]
    public async Task Management_api_sends_to_a_room_and_waits_for_the_summary()
    {
        var room = "ops-" + Guid.NewGuid().ToString("N")[..6];
        var live = await ConnectAsync($",\"rooms\":[\"{room}\"]");
        var stale = await ConnectAsync($",\"rooms\":[\"{room}\"]");
        fixture.Connections.Vanish(stale);

        using var waited = await _http.SendAsync(Admin(HttpMethod.Post, $"/api/rooms/{room}/messages?wait=true", "{\"message\":{\"alert\":1}}"));
        var summary = JsonDocument.Parse(await waited.Content.ReadAsStringAsync()).RootElement;
        // The 410 reaches the connection's grain just after the delivery summary; let it land.
        await fixture.DrainAsync();
        using var accepted = await _http.SendAsync(Admin(HttpMethod.Post, $"/api/rooms/{room}/messages", "{\"message\":2}"));
        var receipt = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement;
        await fixture.DrainAsync();
        using var roomInfo = await _http.SendAsync(Admin(HttpMethod.Get, $"/api/rooms/{room}"));
        using var members = await _http.SendAsync(Admin(HttpMethod.Get, $"/api/rooms/{room}/members?limit=10"));

        Assert.Equal(HttpStatusCode.OK, waited.StatusCode);
        Assert.Equal((2, 1, 1, 0), (summary.GetProperty("recipients").GetInt32(), summary.GetProperty("delivered").GetInt32(),
            summary.GetProperty("gone").GetInt32(), summary.GetProperty("failed").GetInt32()));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(1, receipt.GetProperty("recipients").GetInt32());
        Assert.Equal(1, JsonDocument.Parse(await roomInfo.Content.ReadAsStringAsync()).RootElement.GetProperty("members").GetInt32());
        var page = JsonDocument.Parse(await members.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal([live], page.GetProperty("items").EnumerateArray().Select(i => i.GetString()!).ToArray());
        Assert.Equal(2, Received(live).Count(m => m.GetProperty("type").GetString() == "message"));
    }

    [Fact]
    public async Task Management_api_sends_directly_and_closes_connections()
    {
        var user = "gus-" + Guid.NewGuid().ToString("N")[..6];
        var id = await ConnectAsync($",\"user\":\"{user}\"");
        var path = $"/api/connections/{Uri.EscapeDataString(id)}";

        using var direct = await _http.SendAsync(Admin(HttpMethod.Post, path + "/messages", "{\"message\":\"to you\"}"));
        using var toUser = await _http.SendAsync(Admin(HttpMethod.Post, $"/api/users/{user}/messages", "{\"message\":\"to all of you\"}"));
        using var nobody = await _http.SendAsync(Admin(HttpMethod.Post, "/api/users/nobody/messages", "{\"message\":1}"));
        await fixture.DrainAsync();
        using var deleted = await _http.SendAsync(Admin(HttpMethod.Delete, path));
        using var after = await _http.SendAsync(Admin(HttpMethod.Get, path));
        using var badId = await _http.SendAsync(Admin(HttpMethod.Get, "/api/connections/..%2F.."));

        Assert.Equal(HttpStatusCode.Accepted, direct.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, toUser.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, nobody.StatusCode);
        Assert.Equal(["to you", "to all of you"], Received(id).Where(m => m.GetProperty("type").GetString() == "message").Select(m => m.GetProperty("body").GetString()!).ToArray());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.True(fixture.Connections.WasClosed(id));
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
    }

    [Fact]
    public async Task Admin_sends_to_unknown_connections_and_users_answer_404_and_activate_no_grain()
    {
        var ids = Enumerable.Range(0, 20).Select(_ => NewId()).ToHashSet(StringComparer.Ordinal);
        var users = Enumerable.Range(0, 20).Select(_ => "nobody-" + Guid.NewGuid().ToString("N")).ToHashSet(StringComparer.Ordinal);

        foreach (var id in ids)
        {
            using var response = await _http.SendAsync(Admin(HttpMethod.Post, $"/api/connections/{Uri.EscapeDataString(id)}/messages", "{\"message\":1}"));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("Unknown connection", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
        }
        foreach (var user in users)
        {
            using var response = await _http.SendAsync(Admin(HttpMethod.Post, $"/api/users/{user}/messages", "{\"message\":1}"));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("Unknown user", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
        }

        // Storage answered: no grain was activated for any of them (an activation would stay until idle collection).
        var management = fixture.Factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var activated = (await management.GetDetailedGrainStatistics())
            .Where(a => a.GrainId.Type.ToString() is TetherGrainTypes.Connection or TetherGrainTypes.User
                        && (ids.Contains(a.GrainId.Key.ToString()!) || users.Contains(a.GrainId.Key.ToString()!)))
            .Select(a => a.GrainId.ToString()).ToList();
        Assert.Empty(activated);
    }

    [Theory]
    [InlineData("%20")]
    [InlineData("%20%E3%80%80")]
    public async Task A_white_space_user_id_on_the_admin_api_answers_400(string user)
    {
        using var response = await _http.SendAsync(Admin(HttpMethod.Post, $"/api/users/{user}/messages", "{\"message\":1}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Invalid user", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task A_room_whose_name_holds_a_slash_is_reached_through_the_admin_api()
    {
        var room = "team/" + Guid.NewGuid().ToString("N")[..6];
        var member = await ConnectAsync();
        var (joined, _) = await PostAsync("/handle-event", $"{{\"connection_id\":\"{member}\",\"body\":{{\"action\":\"joinroom\",\"room\":\"{room}\"}}}}");
        var path = "/api/rooms/" + Uri.EscapeDataString(room);

        using var info = await _http.SendAsync(Admin(HttpMethod.Get, path));
        using var members = await _http.SendAsync(Admin(HttpMethod.Get, path + "/members"));
        using var sent = await _http.SendAsync(Admin(HttpMethod.Post, path + "/messages?wait=true", "{\"message\":\"to the team\"}"));
        await fixture.DrainAsync();

        Assert.Equal(HttpStatusCode.OK, joined);
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        var summary = JsonDocument.Parse(await info.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((room, 1), (summary.GetProperty("room").GetString(), summary.GetProperty("members").GetInt32()));
        var page = JsonDocument.Parse(await members.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal([member], page.GetProperty("items").EnumerateArray().Select(i => i.GetString()!).ToArray());
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        Assert.Equal(1, JsonDocument.Parse(await sent.Content.ReadAsStringAsync()).RootElement.GetProperty("delivered").GetInt32());
        Assert.Equal(["to the team"], Received(member).Where(m => m.GetProperty("type").GetString() == "message").Select(m => m.GetProperty("body").GetString()!).ToArray());
    }
}

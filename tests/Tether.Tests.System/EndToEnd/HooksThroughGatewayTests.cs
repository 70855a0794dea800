using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Tether.Hooks;

namespace Tether.Tests.EndToEnd;

/// <summary>
/// The application's hooks (contract §10) against a real HTTP application on loopback, with real WebSocket clients
/// through the local gateway (docs/hooks.md).
/// </summary>
[Collection(HooksTests.Name)]
public sealed class HooksThroughGatewayTests
{
    private readonly HooksFixture _fixture;
    private readonly HookServer _app;

    public HooksThroughGatewayTests(HooksFixture fixture)
    {
        _fixture = fixture;
        _app = fixture.Hooks;
        _app.Reset();
    }

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private static IResult Json(int status, string json) => Results.Text(json, "application/json", Encoding.UTF8, status);

    private static (string? Type, string? Code) Kind(JsonObject frame) => (frame["type"]?.GetValue<string>(), frame["code"]?.GetValue<string>());

    private async Task<JsonObject> SnapshotAsync(string connectionId)
    {
        var json = await _fixture.Api.GetStringAsync($"/api/connections/{Uri.EscapeDataString(connectionId)}");
        return JsonNode.Parse(json)!.AsObject();
    }

    [Fact]
    public async Task A_connect_the_hook_refuses_refuses_the_websocket_with_the_hooks_status()
    {
        var user = Unique("mallory");
        _app.On("connect", r => r.Str("user") == user ? Json(403, """{"code":"banned","message":"Not you."}""") : Json(200, "{}"));

        var status = await TestClient.RefusedStatusAsync(new Uri(_fixture.Gateway.WebSocketUrl + "?user=" + user));
        await using var welcome = await _fixture.ConnectAsync("?user=" + Unique("alice"));

        Assert.Equal(403, status);
        var call = await _app.WaitForAsync("connect", r => r.Str("user") == user);
        Assert.Equal("connect", call.HookHeader);
        Assert.NotNull(call.Body["connectionId"]);
        Assert.Equal(["lobby"], (await SnapshotAsync(welcome.ConnectionId))["rooms"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task The_connect_hook_sets_user_rooms_and_data_and_the_data_reaches_later_hooks_but_no_other_client()
    {
        var room = Unique("team");
        var secret = Unique("data-only-for-the-application");
        var user = Unique("bob");
        _app.On("connect", r => r.Str("user") == user
            ? Json(200, $$$"""{"user":"{{{user}}}-verified","rooms":["{{{room}}}"],"data":{"tier":"gold","note":"{{{secret}}}"}}""")
            : Json(200, "{}"));

        await using var bob = await _fixture.ConnectAsync("?user=" + user);
        await using var other = await _fixture.ConnectAsync("?user=" + Unique("carol"));
        await other.SendForReplyAsync($$"""{"action":"joinroom","room":"{{room}}"}""");
        var sent = await bob.SendForReplyAsync($$"""{"action":"sendmessage","room":"{{room}}","message":"hi"}""");
        var joined = await bob.SendForReplyAsync($$"""{"action":"joinroom","room":"{{room}}-2"}""");
        await _fixture.SettleAsync(bob, other);

        Assert.Equal("sent", Kind(sent).Type);
        Assert.Equal("joined", Kind(joined).Type);
        var snapshot = await SnapshotAsync(bob.ConnectionId);
        Assert.Equal(user + "-verified", snapshot["user"]!.GetValue<string>());
        Assert.Equal(["lobby", room, room + "-2"], snapshot["rooms"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.DoesNotContain(secret, snapshot.ToJsonString(), StringComparison.Ordinal);
        var join = Assert.Single(_app.For("join", bob.ConnectionId));
        Assert.Equal(secret, join.Body["data"]!["note"]!.GetValue<string>());
        Assert.Equal(user + "-verified", join.Str("user"));
        var publish = Assert.Single(_app.For("publish", bob.ConnectionId));
        Assert.Equal("gold", publish.Body["data"]!["tier"]!.GetValue<string>());
        Assert.Contains(other.Deliveries(), f => f["body"]?.GetValue<string>() == "hi");
        Assert.DoesNotContain(other.Frames, f => f.Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_join_the_hook_refuses_answers_its_error_and_changes_no_membership()
    {
        var room = Unique("vip");
        _app.On("join", r => r.Str("room") == room ? Json(403, """{"code":"not_invited","message":"Ask the host."}""") : Json(200, ""));
        await using var client = await _fixture.ConnectAsync();

        var refused = await client.SendForReplyAsync($$"""{"action":"joinroom","room":"{{room}}"}""");
        var allowed = await client.SendForReplyAsync($$"""{"action":"joinroom","room":"{{room}}-open"}""");

        Assert.Equal(("error", "not_invited"), Kind(refused));
        Assert.Equal("Ask the host.", refused["message"]!.GetValue<string>());
        Assert.Equal("joined", Kind(allowed).Type);
        Assert.Equal(["lobby", room + "-open"], (await SnapshotAsync(client.ConnectionId))["rooms"]!.AsArray().Select(n => n!.GetValue<string>()));
        var members = JsonNode.Parse(await _fixture.Api.GetStringAsync($"/api/rooms/{room}/members"))!;
        Assert.Equal(0, members["members"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_publish_rewritten_by_the_hook_reaches_every_member_of_a_sharded_room_rewritten_once()
    {
        var marker = Unique("rewrite-me");
        _app.On("publish", r => r.Body["message"]?.ToJsonString().Contains(marker, StringComparison.Ordinal) == true
            ? Json(200, $$$"""{"message":{"text":"[moderated]","was":"{{{marker}}}"}}""")
            : Json(200, "{}"));
        await using var a = await _fixture.ConnectAsync();
        await using var b = await _fixture.ConnectAsync();
        await using var c = await _fixture.ConnectAsync();

        var sent = await a.SendForReplyAsync($$"""{"action":"sendmessage","message":"{{marker}} from a client"}""");
        using var api = await _fixture.Api.PostAsync("/api/rooms/lobby/messages", JsonContent.Create(new { message = marker + " from the api" }));
        await _fixture.SettleAsync(a, b, c);

        Assert.Equal("sent", Kind(sent).Type);
        Assert.Equal(HttpStatusCode.Accepted, api.StatusCode);
        foreach (var client in new[] { a, b, c })
        {
            var bodies = client.Deliveries().Where(f => f["body"]?.ToJsonString().Contains(marker, StringComparison.Ordinal) == true).ToList();
            Assert.Equal(2, bodies.Count);
            Assert.All(bodies, f => Assert.Equal($$"""{"text":"[moderated]","was":"{{marker}}"}""", f["body"]!.ToJsonString()));
        }
        // One call per message, never per recipient.
        Assert.Equal(2, _app.Requests.Count(r => r.Hook == "publish" && r.Body["message"]!.ToJsonString().Contains(marker, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_publish_the_hook_refuses_reaches_nobody()
    {
        var marker = Unique("spam");
        _app.On("publish", r => r.Body["message"]?.ToJsonString().Contains(marker, StringComparison.Ordinal) == true
            ? Json(422, """{"code":"moderated","message":"Not here."}""")
            : Json(200, "{}"));
        var room = Unique("chat");
        await using var a = await _fixture.ConnectAsync("?rooms=" + room);
        await using var b = await _fixture.ConnectAsync("?rooms=" + room);

        var toRoom = await a.SendForReplyAsync($$"""{"action":"sendmessage","room":"{{room}}","message":"{{marker}}"}""");
        var toUser = await a.SendForReplyAsync($$"""{"action":"sendto","connectionId":"{{b.ConnectionId}}","message":"{{marker}}"}""");
        using var api = await _fixture.Api.PostAsync($"/api/rooms/{room}/messages", JsonContent.Create(new { message = marker }));
        await _fixture.SettleAsync(a, b);

        Assert.Equal(("error", "moderated"), Kind(toRoom));
        Assert.Equal(("error", "moderated"), Kind(toUser));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, api.StatusCode);
        Assert.DoesNotContain(a.Frames.Concat(b.Frames), f => f.Contains(marker, StringComparison.Ordinal) && !f.Contains("\"error\"", StringComparison.Ordinal));
        Assert.Empty(b.Deliveries());
    }

    [Fact]
    public async Task An_rpc_actions_answer_reaches_the_client_as_its_reply_and_a_refusal_as_an_error()
    {
        _app.On("rpc", r => r.Body["body"]!["query"]?.GetValue<string>() == "forbidden"
            ? Json(404, """{"code":"no_such_thing","message":"Nothing."}""")
            : Json(200, $$"""{"type":"lookup","result":{{r.Body["body"]!["query"]!.ToJsonString()}},"action":"{{r.Str("action")}}"}"""));
        await using var client = await _fixture.ConnectAsync();

        var answer = await client.SendForFrameAsync("""{"action":"lookup","query":"weather"}""");
        var refusal = await client.SendForReplyAsync("""{"action":"lookup","query":"forbidden"}""");

        Assert.Equal("""{"type":"lookup","result":"weather","action":"lookup"}""", answer.ToJsonString());
        Assert.Equal(("error", "no_such_thing"), Kind(refusal));
        var call = _app.For("rpc", client.ConnectionId)[0];
        Assert.Equal("lookup", call.Str("action"));
        Assert.Equal("weather", call.Body["body"]!["query"]!.GetValue<string>());
    }

    [Fact]
    public async Task Disconnect_notifications_arrive_for_a_close_a_410_a_sweep_and_an_admin_delete()
    {
        await using var closing = await _fixture.ConnectAsync("?user=" + Unique("dora"));
        var closingId = closing.ConnectionId;
        await closing.CloseAsync();

        // A connection API Gateway does not have: the first post to it is answered 410.
        var goneId = SecurityFixture.NewId();
        using var integration = new HttpClient { BaseAddress = _fixture.Api.BaseAddress };
        integration.DefaultRequestHeaders.Add("X-Gateway-Secret", HooksFixture.IntegrationSecret);
        using var connected = await integration.PostAsync("/connect", JsonContent.Create(new { connection_id = goneId, user = "gone-user" }));
        Assert.Equal(HttpStatusCode.OK, connected.StatusCode);
        using var post = await _fixture.Api.PostAsync($"/api/connections/{Uri.EscapeDataString(goneId)}/messages", JsonContent.Create(new { message = "anyone?" }));

        await using var swept = await _fixture.ConnectAsync();
        Assert.False(await _fixture.Grains.GetGrain<IConnectionGrain>(swept.ConnectionId).Sweep(expired: true));

        await using var deleted = await _fixture.ConnectAsync();
        using var delete = await _fixture.Api.DeleteAsync($"/api/connections/{Uri.EscapeDataString(deleted.ConnectionId)}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);

        Assert.Equal("disconnect", (await _app.WaitForAsync("disconnect", r => r.Str("connectionId") == closingId)).Str("reason"));
        var gone = await _app.WaitForAsync("disconnect", r => r.Str("connectionId") == goneId);
        Assert.Equal(("gone", "gone-user"), (gone.Str("reason"), gone.Str("user")));
        Assert.Equal("swept", (await _app.WaitForAsync("disconnect", r => r.Str("connectionId") == swept.ConnectionId)).Str("reason"));
        Assert.Equal("closed", (await _app.WaitForAsync("disconnect", r => r.Str("connectionId") == deleted.ConnectionId)).Str("reason"));
    }

    [Fact]
    public async Task A_failing_disconnect_hook_is_retried_and_never_holds_the_removal()
    {
        var attempts = 0;
        await using var client = await _fixture.ConnectAsync();
        var id = client.ConnectionId;
        _app.On("disconnect", r => r.Str("connectionId") == id && Interlocked.Increment(ref attempts) < 3 ? Json(503, "") : Json(200, ""));

        await client.CloseAsync();
        await _fixture.Gateway.Gateway.WaitUntilAsync(() => !_fixture.Gateway.Gateway.OpenConnectionIds.Contains(id), TestClient.Timeout);

        await _app.WaitForAsync("disconnect", r => r.Str("connectionId") == id && _app.For("disconnect", id).Count >= 3);
        Assert.Equal(3, Volatile.Read(ref attempts));
        Assert.Equal("disconnect", _app.For("disconnect", id)[2].Str("reason"));
    }

    [Fact]
    public async Task Every_call_is_signed_with_the_first_secret_and_names_its_hook()
    {
        await using var client = await _fixture.ConnectAsync();
        await client.SendForReplyAsync($$"""{"action":"joinroom","room":"{{Unique("signed")}}"}""");
        // No echo: the next frame after the rpc call is its answer.
        await client.SendForReplyAsync("""{"action":"sendmessage","message":"signed","echo":false}""");
        await client.SendForFrameAsync("""{"action":"typing"}""");
        await _app.WaitForAsync("rpc", r => r.Str("connectionId") == client.ConnectionId);

        var calls = _app.Requests.Where(r => r.Body["connectionId"]?.GetValue<string>() == client.ConnectionId).ToList();
        Assert.Equal(["connect", "join", "publish", "rpc"], calls.Select(c => c.Hook));
        var current = Encoding.UTF8.GetBytes(HooksFixture.HookSecret);
        var old = Encoding.UTF8.GetBytes(HooksFixture.OldHookSecret);
        Assert.All(calls, c =>
        {
            Assert.Equal(c.Hook, c.HookHeader);
            Assert.Matches("^sha256=[0-9a-f]{64}$", c.Signature);
            Assert.True(HookSignature.Verify([current], c.Raw, c.Signature));
            // An application still holding both secrets during a rotation accepts it too; one with only the old does not.
            Assert.True(HookSignature.Verify([old, current], c.Raw, c.Signature));
            Assert.False(HookSignature.Verify([old], c.Raw, c.Signature));
        });
    }

    [Fact]
    public async Task A_slow_or_failing_hook_follows_its_policy_deny_for_join_allow_for_publish()
    {
        var slowRoom = Unique("slow");
        var brokenRoom = Unique("broken");
        var slowMessage = Unique("slow-message");
        var brokenMessage = Unique("broken-message");
        _app.On("join", async r =>
        {
            if (r.Str("room") == slowRoom) await Task.Delay(HooksFixture.HookTimeout * 3);
            return r.Str("room") == brokenRoom ? Json(500, "") : Json(200, "");
        });
        _app.On("publish", async r =>
        {
            var text = r.Body["message"]!.ToJsonString();
            if (text.Contains(slowMessage, StringComparison.Ordinal)) await Task.Delay(HooksFixture.HookTimeout * 3);
            return text.Contains(brokenMessage, StringComparison.Ordinal) ? Json(502, "") : Json(200, $$"""{"message":"rewritten"}""");
        });
        await using var client = await _fixture.ConnectAsync();

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var slowJoin = await client.SendForReplyAsync($$"""{"action":"joinroom","room":"{{slowRoom}}"}""");
        var slowJoinTook = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var brokenJoin = await client.SendForReplyAsync($$"""{"action":"joinroom","room":"{{brokenRoom}}"}""");
        var slowSend = await client.SendForReplyAsync($$"""{"action":"sendmessage","message":"{{slowMessage}}"}""");
        var brokenSend = await client.SendForReplyAsync($$"""{"action":"sendmessage","message":"{{brokenMessage}}"}""");
        await _fixture.SettleAsync(client);

        Assert.Equal(("error", "hook_unavailable"), Kind(slowJoin));
        Assert.True(slowJoinTook < HooksFixture.HookTimeout * 3, $"the join waited {slowJoinTook}");
        Assert.Equal(("error", "hook_unavailable"), Kind(brokenJoin));
        Assert.Equal(["lobby"], (await SnapshotAsync(client.ConnectionId))["rooms"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("sent", Kind(slowSend).Type);
        Assert.Equal("sent", Kind(brokenSend).Type);
        // Allowed as sent: the failed hook had no say.
        var bodies = client.Deliveries().Select(f => f["body"]!.ToJsonString()).ToList();
        Assert.Contains($"\"{slowMessage}\"", bodies);
        Assert.Contains($"\"{brokenMessage}\"", bodies);
    }

    [Fact]
    public async Task Malformed_answers_are_failures_never_500s()
    {
        var badUser = Unique("bad-connect");
        var bigDataUser = Unique("big-data");
        var badRoom = Unique("bad-join");
        var badMessage = Unique("bad-publish");
        _app.On("connect", r => r.Str("user") == badUser ? Json(200, """{"rooms":["two words"]}""")
            : r.Str("user") == bigDataUser ? Json(200, "{\"data\":\"" + new string('d', HookRequests.MaxDataBytes) + "\"}")
            : Json(200, "{}"));
        _app.On("join", r => r.Str("room") == badRoom ? Json(200, "this is not json") : Json(200, ""));
        _app.On("publish", r => r.Body["message"]!.ToJsonString().Contains(badMessage, StringComparison.Ordinal) ? Json(200, "[1,2]") : Json(200, "{}"));
        _app.On("rpc", _ => Json(200, "{\"big\":\"" + new string('x', HooksOptions.MaxAnswerBytes) + "\"}"));

        var connectStatus = await TestClient.RefusedStatusAsync(new Uri(_fixture.Gateway.WebSocketUrl + "?user=" + badUser));
        var bigDataStatus = await TestClient.RefusedStatusAsync(new Uri(_fixture.Gateway.WebSocketUrl + "?user=" + bigDataUser));
        await using var client = await _fixture.ConnectAsync();
        var join = await client.SendForReplyAsync($$"""{"action":"joinroom","room":"{{badRoom}}"}""");
        var send = await client.SendForReplyAsync($$"""{"action":"sendmessage","message":"{{badMessage}}"}""");
        var rpc = await client.SendForReplyAsync("""{"action":"typing"}""");

        Assert.Equal(503, connectStatus);
        Assert.Equal(503, bigDataStatus);
        Assert.Equal(("error", "hook_unavailable"), Kind(join));
        Assert.Equal("sent", Kind(send).Type);
        Assert.Equal(("error", "hook_unavailable"), Kind(rpc));
    }
}

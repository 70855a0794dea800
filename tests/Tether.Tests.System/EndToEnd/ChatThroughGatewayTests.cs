using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace Tether.Tests.EndToEnd;

/// <summary>
/// Real WebSocket clients through the local gateway, the API's HTTP endpoints, the grains and the Management API.
/// Every test checks what each client received: all of it, exactly once, each path's frames in order.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class ChatThroughGatewayTests(EndToEndFixture fixture)
{
    private static string Room() => "room-" + Guid.NewGuid().ToString("N")[..8];

    private static string Json(JsonObject frame) => frame.ToJsonString();

    private static string Json(string frame) => TestClient.Parse(frame).ToJsonString();

    /// <summary>
    /// What a client may rely on when frames reach it by two paths: the route responses to its own messages (through
    /// API Gateway) and what others sent (posted through the Management API). Each path keeps its order, but nothing
    /// orders one against the other (README, "Delivery guarantees"), except what the test itself sequenced: a frame
    /// the test waited for before causing another comes first. Every expected frame arrives exactly once, nothing else.
    /// </summary>
    private static void AssertEachSourceInOrder(
        TestClient client, string[] replies, string[] deliveries, (string Earlier, string Later)[] happenedBefore)
    {
        var frames = client.Json.ToList();
        Assert.Equal(replies, client.Replies().Select(Json));
        Assert.Equal(deliveries, client.Deliveries().Select(Json));
        Assert.Equal(replies.Length + deliveries.Length, frames.Count);
        foreach (var (earlier, later) in happenedBefore)
        {
            Assert.True(frames.IndexOf(earlier) < frames.IndexOf(later), $"expected {earlier} before {later} in [{string.Join(", ", frames)}]");
        }
    }

    [Fact]
    public async Task Members_of_a_room_join_send_and_leave_and_each_receives_exactly_its_share_in_order()
    {
        var room = Room();
        await using var a = await fixture.ConnectAsync();
        await using var b = await fixture.ConnectAsync();
        await using var outsider = await fixture.ConnectAsync();

        var aJoined = await a.SendForReplyAsync($$"""{"action":"joinroom","room":"{{room}}"}""");
        var bJoined = await b.SendForReplyAsync($$"""{"action":"joinroom","room":"{{room}}"}""");
        var aSent = await a.SendForReplyAsync($$$"""{"action":"sendmessage","room":"{{{room}}}","message":{"text":"hello b"},"echo":false}""");
        var outsiderRefused = await outsider.SendForReplyAsync($$"""{"action":"sendmessage","room":"{{room}}","message":"let me in"}""");
        var bLeft = await b.SendForReplyAsync($$"""{"action":"leaveroom","room":"{{room}}"}""");
        var aAlone = await a.SendForReplyAsync($$"""{"action":"sendmessage","room":"{{room}}","message":"anyone?","echo":false}""");
        await fixture.SettleAsync(a, b, outsider);

        // A new room: one epoch for both joins, and no message yet (seq 0).
        var epoch = aJoined["epoch"]!.GetValue<string>();
        Assert.Equal($$"""{"type":"joined","room":"{{room}}","members":1,"epoch":"{{epoch}}","seq":0}""", Json(aJoined));
        Assert.Equal($$"""{"type":"joined","room":"{{room}}","members":2,"epoch":"{{epoch}}","seq":0}""", Json(bJoined));
        Assert.Equal(("sent", 1), (aSent["type"]!.GetValue<string>(), aSent["recipients"]!.GetValue<int>()));
        Assert.Equal(("error", "not_in_room"), (outsiderRefused["type"]!.GetValue<string>(), outsiderRefused["code"]!.GetValue<string>()));
        Assert.Equal($$"""{"type":"left","room":"{{room}}"}""", Json(bLeft));
        Assert.Equal(0, aAlone["recipients"]!.GetValue<int>());

        // a: its replies, and b's join and leave notices. b joined only once a had its first reply, and left only once
        // a had its second, so each notice comes after that reply; where it falls among a's later replies is not defined.
        var bJoinNotice = Json($$"""{"type":"presence","event":"join","room":"{{room}}","connectionId":"{{b.ConnectionId}}","user":null}""");
        var bLeaveNotice = Json($$"""{"type":"presence","event":"leave","room":"{{room}}","connectionId":"{{b.ConnectionId}}","user":null}""");
        AssertEachSourceInOrder(a, replies: [Json(aJoined), Json(aSent), Json(aAlone)], deliveries: [bJoinNotice, bLeaveNotice],
            happenedBefore: [(Json(aJoined), bJoinNotice), (Json(aSent), bLeaveNotice)]);
        // b: its join and leave replies and a's one message (exactly as sent), nothing else. The message was sent
        // after b's join reply; it comes by the other path, so nothing orders it against b's leave reply.
        var message = Assert.Single(b.Deliveries());
        Assert.Equal(3, b.Frames.Count);
        Assert.Equal([Json(bJoined), Json(bLeft)], b.Replies().Select(Json));
        var bFrames = b.Json.ToList();
        Assert.True(bFrames.IndexOf(Json(bJoined)) < bFrames.IndexOf(Json(message)), $"expected b's join reply before a's message in [{string.Join(", ", bFrames)}]");
        Assert.Equal(("message", room, a.ConnectionId, """{"text":"hello b"}""", aSent["id"]!.GetValue<string>()),
            (message["type"]!.GetValue<string>(), message["room"]!.GetValue<string>(), message["from"]!.GetValue<string>(),
             message["body"]!.ToJsonString(), message["id"]!.GetValue<string>()));
        // The outsider: only its error reply.
        Assert.Equal([Json(outsiderRefused)], outsider.Json);
    }

    [Fact]
    public async Task Direct_messages_reach_one_connection_or_every_connection_of_a_user()
    {
        var user = "alice-" + Guid.NewGuid().ToString("N")[..6];
        await using var phone = await fixture.ConnectAsync($"?user={user}");
        await using var laptop = await fixture.ConnectAsync($"?user={user}");
        await using var bob = await fixture.ConnectAsync("?user=bob");

        var toPhone = await bob.SendForReplyAsync($$"""{"action":"sendto","connectionId":"{{phone.ConnectionId}}","message":"just your phone"}""");
        var toUser = await bob.SendForReplyAsync($$$"""{"action":"sendto","user":"{{{user}}}","message":{"n":2}}""");
        var toNobody = await bob.SendForReplyAsync("""{"action":"sendto","connectionId":"AAAAAAAAAAAAAAA=","message":"?"}""");
        await fixture.SettleAsync(phone, laptop, bob);

        Assert.Equal((1, 2), (toPhone["recipients"]!.GetValue<int>(), toUser["recipients"]!.GetValue<int>()));
        Assert.Equal(("error", "recipient_not_found"), (toNobody["type"]!.GetValue<string>(), toNobody["code"]!.GetValue<string>()));
        Assert.Equal([Json(toPhone), Json(toUser), Json(toNobody)], bob.Json);

        static (string?, string?, string, string?) Summary(string frame)
        {
            var m = TestClient.Parse(frame);
            return (m["room"]?.GetValue<string>(), m["user"]?.GetValue<string>(), m["body"]!.ToJsonString(), m["from"]?.GetValue<string>());
        }
        Assert.Equal([(null, "bob", "\"just your phone\"", bob.ConnectionId), (null, "bob", """{"n":2}""", bob.ConnectionId)], phone.Frames.Select(Summary));
        Assert.Equal([(null, "bob", """{"n":2}""", bob.ConnectionId)], laptop.Frames.Select(Summary));
    }

    [Fact]
    public async Task The_seed_clients_messages_and_plain_text_reach_everyone_in_the_default_room()
    {
        await using var first = await fixture.ConnectAsync();
        await using var second = await fixture.ConnectAsync();

        var joined = await first.SendForReplyAsync("""{"action":"joinroom","message":"connected"}""");
        var sent = await first.SendForReplyAsync("""{"action":"chat","message":"Hello world!"}""");
        var text = await second.SendForReplyAsync("it's \"plain\" text, ünïcode ✓ and a \\ backslash");
        await fixture.SettleAsync(first, second);

        Assert.Equal(("joined", "lobby"), (joined["type"]!.GetValue<string>(), joined["room"]!.GetValue<string>()));
        Assert.Equal(("sent", "lobby"), (sent["type"]!.GetValue<string>(), sent["room"]!.GetValue<string>()));
        Assert.Equal(("sent", "lobby"), (text["type"]!.GetValue<string>(), text["room"]!.GetValue<string>()));

        string[] expected = ["\"Hello world!\"", "\"it's \\\"plain\\\" text, ünïcode ✓ and a \\\\ backslash\""];
        foreach (var client in new[] { first, second })
        {
            // A sender's own copy and its reply travel different paths (Management API vs. route response), so
            // only each path's order is defined: compare replies and deliveries separately.
            var deliveries = client.Deliveries();
            Assert.Equal(expected, deliveries.Select(d => d["body"]!.ToJsonString(new System.Text.Json.JsonSerializerOptions
            {
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            })));
            Assert.All(deliveries, d => Assert.Equal("lobby", d["room"]!.GetValue<string>()));
            Assert.Equal([sent["id"]!.GetValue<string>(), text["id"]!.GetValue<string>()], deliveries.Select(d => d["id"]!.GetValue<string>()));
        }
        Assert.Equal([Json(joined), Json(sent)], first.Replies().Select(Json));
        Assert.Equal([Json(text)], second.Replies().Select(Json));
    }

    [Fact]
    public async Task A_client_that_vanishes_without_disconnect_gets_410_on_the_next_message_and_leaves_its_rooms()
    {
        var room = Room();
        await using var live = await fixture.ConnectAsync($"?rooms={room}");
        await using var stale = await fixture.ConnectAsync($"?rooms={room}");
        var goneBefore = fixture.Gateway.ManagementApi.Stats.Gone;

        await live.WaitUntilAsync(() => live.Deliveries().Count == 1);
        Assert.True(fixture.Gateway.Gateway.Vanish(stale.ConnectionId));
        await stale.ClosedAsync();
        var first = await live.SendForReplyAsync($$"""{"action":"sendmessage","room":"{{room}}","message":1,"echo":false}""");
        // The post to the vanished connection answers 410; its grain then leaves the room, which tells the others.
        await live.WaitUntilAsync(() => live.Deliveries().Count == 2);
        var second = await live.SendForReplyAsync($$"""{"action":"sendmessage","room":"{{room}}","message":2,"echo":false}""");
        await fixture.SettleAsync(live);
        using var roomInfo = await fixture.Api.GetAsync($"/api/rooms/{room}");

        Assert.Equal((1, 0), (first["recipients"]!.GetValue<int>(), second["recipients"]!.GetValue<int>()));
        Assert.Equal(goneBefore + 1, fixture.Gateway.ManagementApi.Stats.Gone);
        Assert.Equal(1, JsonNode.Parse(await roomInfo.Content.ReadAsStringAsync())!["members"]!.GetValue<int>());
        Assert.DoesNotContain(fixture.Backend.Calls, c => c.Path == "/disconnect" && c.Body["connection_id"]!.GetValue<string>() == stale.ConnectionId);
        // The test waited for each notice before the next send, so each comes before that send's reply; the leave
        // notice (caused by posting message 1) and the reply to message 1 travel different paths and may swap.
        var joinNotice = Json($$"""{"type":"presence","event":"join","room":"{{room}}","connectionId":"{{stale.ConnectionId}}","user":null}""");
        var leaveNotice = Json($$"""{"type":"presence","event":"leave","room":"{{room}}","connectionId":"{{stale.ConnectionId}}","user":null}""");
        AssertEachSourceInOrder(live, replies: [Json(first), Json(second)], deliveries: [joinNotice, leaveNotice],
            happenedBefore: [(joinNotice, Json(first)), (leaveNotice, Json(second))]);
        Assert.Empty(stale.Frames);
    }

    [Theory]
    [InlineData("?rooms=two%20words", 400)]
    [InlineData("?user=%01", 400)]
    public async Task A_refused_connect_shows_the_backends_status_and_opens_nothing(string query, int status)
    {
        // By id, not by count: a connection of the test before may still be closing meanwhile (seen in CI: 1 → 0).
        var before = fixture.Gateway.Gateway.ConnectionIds;

        var refused = await TestClient.RefusedStatusAsync(new Uri(fixture.Gateway.WebSocketUrl + query));

        Assert.Equal(status, refused);
        Assert.Empty(fixture.Gateway.Gateway.ConnectionIds.Except(before));
        Assert.Contains(fixture.Backend.Calls, c => c.Path == "/connect" && c.Status == status);
    }

    [Fact]
    public async Task An_oversized_message_closes_1009_a_binary_frame_1003_and_disconnect_reports_why()
    {
        await using var big = await fixture.ConnectAsync();
        await using var binary = await fixture.ConnectAsync();
        await using var bystander = await fixture.ConnectAsync();

        await big.SendAsync("{\"action\":\"chat\",\"message\":\"" + new string('x', 33 * 1024) + "\"}");
        await binary.SendBinaryAsync([1, 2, 3]);
        var bigClosed = await big.ClosedAsync();
        var binaryClosed = await binary.ClosedAsync();
        var bigDisconnect = await fixture.Backend.DisconnectOfAsync(big.ConnectionId);
        var binaryDisconnect = await fixture.Backend.DisconnectOfAsync(binary.ConnectionId);
        await fixture.SettleAsync(bystander);

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, bigClosed.Status);
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, binaryClosed.Status);
        Assert.Equal("1009", bigDisconnect["status_code"]!.GetValue<string>());
        Assert.Equal("1003", binaryDisconnect["status_code"]!.GetValue<string>());
        Assert.Empty(big.Frames);
        Assert.Empty(binary.Frames);
        // Nothing of the oversized message reached the backend, so nobody received it.
        Assert.Empty(bystander.Frames);
    }

    [Fact]
    public async Task A_bad_message_gets_the_backends_error_as_a_two_way_reply_and_a_close_reaches_disconnect()
    {
        await using var client = await fixture.ConnectAsync();

        var bad = await client.SendForReplyAsync("""{"action":"leaveroom"}""");
        var joined = await client.SendForReplyAsync("""{"action":"joinroom","room":"x y"}""");
        await client.CloseAsync();
        var disconnect = await fixture.Backend.DisconnectOfAsync(client.ConnectionId);

        Assert.Equal(("error", "invalid_message"), (bad["type"]!.GetValue<string>(), bad["code"]!.GetValue<string>()));
        Assert.Equal(("error", "invalid_room"), (joined["type"]!.GetValue<string>(), joined["code"]!.GetValue<string>()));
        Assert.Equal([Json(bad), Json(joined)], client.Json);
        Assert.Equal(("1000", "bye"), (disconnect["status_code"]!.GetValue<string>(), disconnect["reason"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Deleting_a_connection_through_the_api_closes_the_clients_socket()
    {
        await using var client = await fixture.ConnectAsync();

        using var deleted = await fixture.Api.DeleteAsync($"/api/connections/{Uri.EscapeDataString(client.ConnectionId)}");
        var closed = await client.ClosedAsync();
        await fixture.Backend.DisconnectOfAsync(client.ConnectionId);
        using var after = await fixture.Api.GetAsync($"/api/connections/{Uri.EscapeDataString(client.ConnectionId)}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.Status);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Empty(client.Frames);
    }

    [Fact]
    public async Task Every_integration_request_carries_the_secret_from_the_stage_variable()
    {
        await using var client = await fixture.ConnectAsync();
        await client.SendForReplyAsync("""{"action":"joinroom"}""");

        Assert.NotEmpty(fixture.Backend.Calls);
        Assert.All(fixture.Backend.Calls, c => Assert.Equal(EndToEndFixture.IntegrationSecret, c.Secret));
    }

    [Fact]
    public async Task Batch_1_in_the_url_reaches_connect_as_a_json_true_and_registers_the_connection()
    {
        await using var asked = await fixture.ConnectAsync("?batch=1");
        await using var plain = await fixture.ConnectAsync();

        JsonNode? Batch(string id) => fixture.Backend.Calls.Single(c => c.Path == "/connect" && c.Body["connection_id"]!.GetValue<string>() == id).Body["batch"];
        async Task<bool> RegisteredAsync(string id) =>
            (await fixture.Factory.Services.GetRequiredService<IGrainFactory>().BatchRegistry(BatchRegistry.BucketOf(id)).GetConnections()).Contains(id);

        Assert.Equal((JsonValueKind.True, JsonValueKind.False), (Batch(asked.ConnectionId)!.GetValueKind(), Batch(plain.ConnectionId)!.GetValueKind()));
        Assert.Equal((true, false), (await RegisteredAsync(asked.ConnectionId), await RegisteredAsync(plain.ConnectionId)));
    }
}

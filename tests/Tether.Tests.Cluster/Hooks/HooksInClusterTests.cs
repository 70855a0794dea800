using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Tether.Tests.Hooks;

/// <summary>
/// The grain-side hooks in the cluster shape (two silos, the hooks registered by <c>AddTether</c> on each): a sharded
/// room's message passes the publish hook once, with the connection's data, and reaches every member rewritten.
/// </summary>
[Collection(HooksClusterTests.Name)]
public sealed class HooksInClusterTests(HooksClusterFixture fixture)
{
    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..15] + "=";

    private async Task<string> ConnectAsync(string room, string? data = null)
    {
        var id = NewId();
        fixture.Connections.Add(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest("user-" + id, [room], DateTimeOffset.UtcNow, null, null, null, null, Data: data));
        return id;
    }

    [Fact]
    public async Task A_message_to_a_sharded_room_passes_the_publish_hook_once_with_the_senders_data_and_reaches_every_member_rewritten()
    {
        var room = "sharded-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Hooks.On("publish", r => r.Str("room") == room
            ? Results.Text("""{"message":{"text":"rewritten"}}""", "application/json")
            : Results.Text("{}", "application/json"));
        var sender = await ConnectAsync(room, """{"seat":7}""");
        var members = new List<string> { sender };
        for (var i = 0; i < 11; i++) members.Add(await ConnectAsync(room));

        var reply = await fixture.Grains.Connection(sender).Handle(new SendToRoom(room, "\"original\"", Echo: true));
        await fixture.Connections.WaitUntilAsync(() => members.All(m => fixture.Connections.ReceivedCount(m) > 0), TimeSpan.FromSeconds(30));
        await fixture.DrainAsync();

        Assert.Equal(12, Assert.IsType<Sent>(reply).Recipients);
        var call = Assert.Single(fixture.Hooks.Requests, r => r.Hook == "publish" && r.Str("room") == room);
        Assert.Equal(7, call.Body["data"]!["seat"]!.GetValue<int>());
        Assert.Equal("\"original\"", call.Body["message"]!.ToJsonString());
        Assert.All(members, m =>
        {
            var body = JsonDocument.Parse(Assert.Single(fixture.Connections.Received(m))).RootElement.GetProperty("body");
            Assert.Equal("""{"text":"rewritten"}""", body.GetRawText());
        });
    }

    [Fact]
    public async Task A_refused_join_leaves_the_room_untouched_an_rpc_is_answered_and_a_410_notifies_from_the_silo()
    {
        var room = "guarded-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Hooks.On("join", r => r.Str("room") == room ? Results.Json(new { code = "full_table" }, statusCode: 403) : Results.Ok());
        fixture.Hooks.On("rpc", r => Results.Text($$"""{"type":"moved","to":{{r.Body["body"]!["to"]!.ToJsonString()}}}""", "application/json"));
        var id = await ConnectAsync("lobby");

        var join = await fixture.Grains.Connection(id).Handle(new JoinRoom(room));
        var rpc = await fixture.Grains.Connection(id).Handle(new RpcCall("move", """{"action":"move","to":"e4"}"""));
        fixture.Connections.Vanish(id);
        Assert.True(await fixture.Grains.Connection(id).Gone(null));

        Assert.Equal(("full_table", 403), (Assert.IsType<ErrorReply>(join).Code, join.Status));
        Assert.Equal(0, await fixture.Grains.Room(room).Count());
        Assert.Equal("""{"type":"moved","to":"e4"}""", Assert.IsType<RpcAnswer>(rpc).Json);
        var notification = await fixture.Hooks.WaitForAsync("disconnect", r => r.Str("connectionId") == id);
        Assert.Equal(("gone", "user-" + id), (notification.Str("reason"), notification.Str("user")));
    }
}

using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tether.Contracts;
using Tether.Grains;
using Xunit.Abstractions;

namespace Tether.Tests.Grains;

/// <summary>Issue 18 points 4 and 5: presence cannot amplify, random ids cost no activations, no "failed" for work done.</summary>
[Collection(AbuseClusterTests.Name)]
public sealed class AbuseLimitTests(AbuseClusterFixture fixture, ITestOutputHelper output)
{
    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";
    private static string NewRoom() => "room-" + Guid.NewGuid().ToString("N")[..8];

    private IConnectionGrain Connection(string id) => fixture.Grains.GetGrain<IConnectionGrain>(id);

    private async Task<string> ConnectAsync(params string[] rooms)
    {
        var id = NewId();
        fixture.Connections.Add(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, rooms, DateTimeOffset.UtcNow, null, null, null));
        return id;
    }

    private int PresenceReceived(string id) =>
        fixture.Connections.Received(id).Count(m => JsonDocument.Parse(m).RootElement.GetProperty("type").GetString() == "presence");

    [Fact]
    public async Task One_connection_alternating_joinroom_and_leaveroom_stays_under_the_rooms_presence_cap()
    {
        // Twenty members: a sharded room here (past Rooms:ShardThreshold 8), still below Rooms:PresenceMaxMembers.
        var room = NewRoom();
        var members = new List<string>();
        for (var i = 0; i < 20; i++) members.Add(await ConnectAsync(room));
        var attacker = await ConnectAsync();
        await fixture.DrainAsync();
        var before = members.Sum(PresenceReceived);

        // As fast as the connection's own limit lets it (50 messages/s after a burst of 100), for three seconds.
        var clock = Stopwatch.StartNew();
        var changes = 0;
        var inRoom = false;
        while (clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            var reply = await Connection(attacker).Handle(inRoom ? new LeaveRoom(room) : new JoinRoom(room));
            if (reply is Joined or Left)
            {
                inRoom = !inRoom;
                changes++;
            }
        }
        await fixture.DrainAsync();
        var elapsed = clock.Elapsed.TotalSeconds;
        var posts = members.Sum(PresenceReceived) - before;

        output.WriteLine($"{changes} joins/leaves in {elapsed:0.0} s caused {posts} presence posts ({posts / elapsed:0} posts/s; cap {AbuseClusterFixture.PresenceCap}/s)");
        Assert.True(changes >= 40, $"the attack made only {changes} joins/leaves");
        // The cap per second, a second's burst, and the one notice (to each member) the bucket may go into debt for.
        Assert.True(posts <= AbuseClusterFixture.PresenceCap * (elapsed + 1) + members.Count,
            $"{posts} presence posts in {elapsed:0.0} s, over the cap of {AbuseClusterFixture.PresenceCap}/s");
    }

    [Fact]
    public async Task Many_connections_joining_at_once_stay_under_the_rooms_presence_cap_and_the_rest_is_counted_as_dropped()
    {
        var room = NewRoom();
        var members = new List<string>();
        for (var i = 0; i < 20; i++) members.Add(await ConnectAsync(room));
        await fixture.DrainAsync();
        var droppedBefore = Dropped();
        var before = members.Sum(PresenceReceived);

        // Thirty joins, each a notice to 20 to 49 members: about 1,000 posts, several times what the cap allows.
        var clock = Stopwatch.StartNew();
        var newcomers = new List<string>();
        for (var i = 0; i < 30; i++) newcomers.Add(await ConnectAsync(room));
        await fixture.DrainAsync();
        var elapsed = clock.Elapsed.TotalSeconds;
        var posts = members.Concat(newcomers).Sum(PresenceReceived) - before;
        var dropped = Dropped() - droppedBefore;

        output.WriteLine($"30 joins in {elapsed:0.0} s: {posts} presence posts ({posts / elapsed:0} posts/s; cap {AbuseClusterFixture.PresenceCap}/s), {dropped} notices dropped");
        Assert.True(posts <= AbuseClusterFixture.PresenceCap * (elapsed + 1) + 50,
            $"{posts} presence posts in {elapsed:0.0} s, over the cap of {AbuseClusterFixture.PresenceCap}/s");
        Assert.True(posts > 0, "capped, not turned off");
        Assert.True(dropped > 0, "the notices over the cap are counted");
    }

    private long Dropped() => fixture.Cluster.Silos.Sum(s => s.ServiceProvider.GetRequiredService<PresenceBacklog>().Dropped);

    [Fact]
    public async Task Joins_and_leaves_within_one_window_reach_the_members_as_their_net_change()
    {
        var room = NewRoom();
        var member = await ConnectAsync(room);
        var stays = await ConnectAsync();
        var bounces = await ConnectAsync();
        var quiet = await ConnectAsync();
        // A first notice opens the window (it goes at once); the changes after it within the window are coalesced.
        await Connection(quiet).Handle(new JoinRoom(room));
        await Connection(stays).Handle(new JoinRoom(room));
        await Connection(bounces).Handle(new JoinRoom(room));
        await Connection(bounces).Handle(new LeaveRoom(room));
        await fixture.DrainAsync();

        var about = fixture.Connections.Received(member).Select(m => JsonDocument.Parse(m).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "presence")
            .Select(e => (e.GetProperty("event").GetString(), e.GetProperty("connectionId").GetString())).ToList();
        Assert.Equal([("join", quiet), ("join", stays)], about);
    }

    [Fact]
    public async Task Clients_cannot_send_to_the_default_room_when_only_the_server_may()
    {
        var sender = await ConnectAsync();
        var other = await ConnectAsync();

        var implicitSend = await Connection(sender).Handle(new SendToRoom(null, "\"hi all\"", true));
        var explicitSend = await Connection(sender).Handle(new SendToRoom("lobby", "\"hi all\"", true));
        var fromServer = await fixture.Grains.GetGrain<IRoomGrain>("lobby").Publish(
            Envelopes.Message(Envelopes.NewMessageId(), "lobby", "api", null, "\"announcement\"", DateTimeOffset.UtcNow), null, trackDelivery: false);
        await fixture.DrainAsync();

        Assert.Equal((403, "default_room_send_forbidden"), (implicitSend.Status, Assert.IsType<ErrorReply>(implicitSend).Code));
        Assert.Equal((403, "default_room_send_forbidden"), (explicitSend.Status, Assert.IsType<ErrorReply>(explicitSend).Code));
        Assert.True(fromServer.Recipients >= 2);
        Assert.DoesNotContain(fixture.Connections.Received(other), m => m.Contains("hi all", StringComparison.Ordinal));
        Assert.Contains(fixture.Connections.Received(other), m => m.Contains("announcement", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sendto_random_connection_ids_and_users_leaves_no_activations_behind()
    {
        var sender = await ConnectAsync();
        var ids = Enumerable.Range(0, 40).Select(_ => NewId()).ToHashSet(StringComparer.Ordinal);
        var users = Enumerable.Range(0, 40).Select(_ => "nobody-" + Guid.NewGuid().ToString("N")).ToHashSet(StringComparer.Ordinal);

        foreach (var id in ids)
        {
            var reply = await Connection(sender).Handle(new SendDirect(id, null, "\"x\""));
            Assert.Equal("recipient_not_found", Assert.IsType<ErrorReply>(reply).Code);
        }
        foreach (var user in users)
        {
            var reply = await Connection(sender).Handle(new SendDirect(null, user, "\"x\""));
            Assert.Equal("recipient_not_found", Assert.IsType<ErrorReply>(reply).Code);
        }

        // Deactivation follows the call that asked for it: there is no event to await from outside the silo.
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        var left = -1;
        await Eventually.HoldsAsync(async () =>
        {
            var activations = await management.GetDetailedGrainStatistics();
            left = activations.Count(a => a.GrainId.Type.ToString() is TetherGrainTypes.Connection or TetherGrainTypes.User
                                          && (ids.Contains(a.GrainId.Key.ToString()!) || users.Contains(a.GrainId.Key.ToString()!)));
            Assert.Equal(0, left);
        }, TimeSpan.FromSeconds(10), "the random ids' activations are gone");
        output.WriteLine($"80 sendto to unknown ids and users: {left} activations left");
    }

    [Fact]
    public async Task A_connect_that_reaches_its_grain_after_the_deadline_is_refused_and_not_registered()
    {
        var id = NewId();
        var room = NewRoom();

        using (CallDeadline.Begin(TimeProvider.System, TimeSpan.Zero))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null)));
        }

        Assert.Null(await Connection(id).GetSnapshot());
        Assert.False(await fixture.Grains.GetGrain<IRoomGrain>(room).IsMember(id));
        Assert.False(await fixture.Grains.GetGrain<IRoomGrain>("lobby").IsMember(id));
    }

    [Fact]
    public async Task A_message_that_reaches_its_grain_after_the_deadline_is_refused_and_not_sent()
    {
        var room = NewRoom();
        var sender = await ConnectAsync(room);
        var member = await ConnectAsync(room);

        ClientReply reply;
        using (CallDeadline.Begin(TimeProvider.System, TimeSpan.Zero))
        {
            reply = await Connection(sender).Handle(new SendToRoom(room, "\"late\"", true));
        }
        await fixture.DrainAsync();

        Assert.Equal((503, "too_late"), (reply.Status, Assert.IsType<ErrorReply>(reply).Code));
        Assert.DoesNotContain(fixture.Connections.Received(member), m => m.Contains("late", StringComparison.Ordinal));
    }

    /// <summary>
    /// A sender held by admission until its call's deadline is refused (<see cref="OverloadedException"/>, which the API
    /// answers 503 <c>overloaded</c>) before its caller gives up, and nothing of the message is done: it is not in the
    /// room's history and no member ever receives it. Before admission refused, the message was queued at the deadline
    /// and answered <c>sent</c>, which let the queue grow with every held sender (docs/decisions/admission-refusal.md).
    /// </summary>
    [Fact]
    public async Task A_sender_held_by_admission_until_its_deadline_is_refused_and_the_message_never_goes_out()
    {
        var room = NewRoom();
        var sender = await ConnectAsync(room);
        var members = new List<string>();
        for (var i = 0; i < 4; i++) members.Add(await ConnectAsync(room));
        await fixture.DrainAsync();
        fixture.Gateway.Emulator.Faults.Latency = TimeSpan.FromSeconds(2);
        TimeSpan answeredIn;
        try
        {
            // Five posts for one worker at 2 s each: the room's stream has posts waiting, over the mark of two, for
            // 6 s. Admission alone would hold the next message that long (its timeout here is 20 s).
            Assert.IsType<Sent>(await Connection(sender).Handle(new SendToRoom(room, "\"first\"", true)));

            // The caller gives up after 4 s; the deadline is 3 s before that.
            var clock = Stopwatch.StartNew();
            using (CallDeadline.Begin(TimeProvider.System, TimeSpan.FromSeconds(4)))
            {
                await Assert.ThrowsAsync<OverloadedException>(() => Connection(sender).Handle(new SendToRoom(room, "\"second\"", true)));
            }
            answeredIn = clock.Elapsed;
        }
        finally
        {
            fixture.Gateway.Emulator.Faults.Latency = TimeSpan.Zero;
        }
        await fixture.DrainAsync();

        output.WriteLine($"held by admission, refused in {answeredIn.TotalSeconds:0.0} s");
        Assert.True(answeredIn < TimeSpan.FromSeconds(3.5), $"refused after {answeredIn.TotalSeconds:0.0} s: its caller (4 s) would have answered 503 on its own");
        Assert.All(members, m => Assert.Contains(fixture.Connections.Received(m), p => p.Contains("first", StringComparison.Ordinal)));
        Assert.All(members, m => Assert.DoesNotContain(fixture.Connections.Received(m), p => p.Contains("second", StringComparison.Ordinal)));
        var history = await fixture.Grains.Room(room).Messages(0, 100);
        Assert.DoesNotContain(history.Messages, p => System.Text.Encoding.UTF8.GetString(p).Contains("second", StringComparison.Ordinal));
    }
}

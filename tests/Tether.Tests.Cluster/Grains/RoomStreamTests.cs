using System.Text.Json;
using Tether.Contracts;

namespace Tether.Tests.Grains;

/// <summary>
/// Contract §7 in the in-process cluster (history in memory): seq and epoch on envelopes and replies, joins with
/// <c>since</c> that replay before live messages in small and sharded rooms, <c>recovered:false</c>, idempotent
/// publish, the user's stream, <c>history</c> and <c>ping</c>.
/// </summary>
[Collection(ClusterTests.Name)]
public sealed class RoomStreamTests(ClusterFixture fixture)
{
    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";
    private static string NewRoom() => "room-" + Guid.NewGuid().ToString("N")[..8];

    private IConnectionGrain Connection(string id) => fixture.Grains.GetGrain<IConnectionGrain>(id);

    private async Task<string> ConnectAsync(string? user = null, params string[] rooms)
    {
        var id = NewId();
        fixture.Connections.Add(id);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(user, rooms, DateTimeOffset.UtcNow, null, null, null));
        return id;
    }

    private List<JsonElement> Messages(string id, string? room) =>
        [.. fixture.Connections.Received(id).Select(m => JsonDocument.Parse(m).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "message"
                && (room is null ? e.GetProperty("room").ValueKind == JsonValueKind.Null : e.GetProperty("room").GetString() == room))];

    private static long[] Seqs(IEnumerable<JsonElement> messages) => [.. messages.Select(m => m.GetProperty("seq").GetInt64())];

    private async Task<Sent> SendAsync(string from, string room, string body, string? requestId = null) =>
        Assert.IsType<Sent>(await Connection(from).Handle(new SendToRoom(room, body, Echo: true) { RequestId = requestId }));

    [Fact]
    public async Task Concurrent_senders_get_consecutive_seqs_and_every_member_sees_them_in_seq_order()
    {
        var room = NewRoom();
        var senders = new List<string>();
        for (var i = 0; i < 6; i++) senders.Add(await ConnectAsync(null, room));

        var sent = await Task.WhenAll(senders.SelectMany(s => Enumerable.Range(0, 10).Select(n => SendAsync(s, room, n.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
        await fixture.DrainAsync();

        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), sent.Select(s => s.Seq!.Value).Order());
        Assert.Single(sent.Select(s => s.Epoch).Distinct());
        foreach (var member in senders)
        {
            var received = Messages(member, room);
            Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), Seqs(received));
            Assert.All(received, m => Assert.Equal(sent[0].Epoch, m.GetProperty("epoch").GetString()));
        }
    }

    [Fact]
    public async Task Joined_and_sent_carry_the_rooms_position_and_presence_carries_none()
    {
        var room = NewRoom();
        var first = await ConnectAsync();
        var joinedEmpty = Assert.IsType<Joined>(await Connection(first).Handle(new JoinRoom(room)));
        Assert.Equal(0, joinedEmpty.Seq);
        Assert.False(string.IsNullOrEmpty(joinedEmpty.Epoch));
        Assert.Null(joinedEmpty.Recovered);

        var sent = await SendAsync(first, room, "\"a\"");
        Assert.Equal((1L, joinedEmpty.Epoch), (sent.Seq!.Value, sent.Epoch));

        var second = await ConnectAsync();
        var joined = Assert.IsType<Joined>(await Connection(second).Handle(new JoinRoom(room)));
        Assert.Equal((joinedEmpty.Epoch, 1L), (joined.Epoch, joined.Seq));
        await fixture.DrainAsync();
        var presence = fixture.Connections.Received(first).Select(m => JsonDocument.Parse(m).RootElement).Single(e => e.GetProperty("type").GetString() == "presence");
        Assert.False(presence.TryGetProperty("seq", out _));
        Assert.False(presence.TryGetProperty("epoch", out _));
    }

    [Fact]
    public async Task A_join_with_since_replays_the_missed_messages_before_any_later_one_in_a_small_room() =>
        await ReplayBeforeLiveAsync(members: 1);

    [Fact]
    public async Task A_join_with_since_replays_the_missed_messages_before_any_later_one_in_a_sharded_room() =>
        // The fixture shards rooms past 8 members.
        await ReplayBeforeLiveAsync(members: 12);

    private async Task ReplayBeforeLiveAsync(int members)
    {
        var room = NewRoom();
        var others = new List<string>();
        for (var i = 0; i < members; i++) others.Add(await ConnectAsync(null, room));
        var sender = others[0];
        Sent first = null!;
        for (var i = 1; i <= 10; i++)
        {
            var sent = await SendAsync(sender, room, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            first ??= sent;
        }

        var joiner = await ConnectAsync();
        var live = Task.Run(async () =>
        {
            for (var i = 11; i <= 30; i++) await SendAsync(sender, room, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        var joined = Assert.IsType<Joined>(await Connection(joiner).Handle(new JoinRoom(room, new StreamPosition(first.Epoch!, 3))));
        await live;
        await fixture.DrainAsync();

        Assert.True(joined.Recovered);
        Assert.Equal((int)(joined.Seq - 3), joined.Replayed!.Value);
        // Replayed 4..S, then every later message live: consecutive, in order, none twice.
        Assert.Equal(Enumerable.Range(4, 27).Select(i => (long)i), Seqs(Messages(joiner, room)));
    }

    [Fact]
    public async Task Since_with_another_epoch_or_a_seq_beyond_the_latest_is_not_recovered_and_replays_nothing()
    {
        var room = NewRoom();
        var sender = await ConnectAsync(null, room);
        var sent = await SendAsync(sender, room, "1");
        await SendAsync(sender, room, "2");

        var staleEpoch = await ConnectAsync();
        var stale = Assert.IsType<Joined>(await Connection(staleEpoch).Handle(new JoinRoom(room, new StreamPosition("not-the-epoch", 0))));
        var beyond = await ConnectAsync();
        var ahead = Assert.IsType<Joined>(await Connection(beyond).Handle(new JoinRoom(room, new StreamPosition(sent.Epoch!, 99))));
        var current = await ConnectAsync();
        var upToDate = Assert.IsType<Joined>(await Connection(current).Handle(new JoinRoom(room, new StreamPosition(sent.Epoch!, 2))));
        await SendAsync(sender, room, "3");
        await fixture.DrainAsync();

        Assert.Equal((false, 0, sent.Epoch, 2L), (stale.Recovered!.Value, stale.Replayed!.Value, stale.Epoch, stale.Seq));
        Assert.Equal((false, 0), (ahead.Recovered!.Value, ahead.Replayed!.Value));
        Assert.Equal((true, 0), (upToDate.Recovered!.Value, upToDate.Replayed!.Value));
        foreach (var id in new[] { staleEpoch, beyond, current }) Assert.Equal([3L], Seqs(Messages(id, room)));
    }

    [Fact]
    public async Task A_repeated_request_id_is_not_delivered_again_and_gets_the_first_acceptance()
    {
        var room = NewRoom();
        var sender = await ConnectAsync(null, room);
        var other = await ConnectAsync(null, room);

        var first = await SendAsync(sender, room, "\"once\"", requestId: "req-1");
        var again = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => SendAsync(sender, room, "\"once\"", requestId: "req-1")));
        var next = await SendAsync(sender, room, "\"next\"", requestId: "req-2");
        await fixture.DrainAsync();

        Assert.All(again, a => Assert.Equal((first.MessageId, first.Seq, first.Recipients), (a.MessageId, a.Seq, a.Recipients)));
        Assert.Equal(first.Seq + 1, next.Seq);
        Assert.Equal([first.Seq!.Value, next.Seq!.Value], Seqs(Messages(other, room)));
    }

    [Fact]
    public async Task The_users_stream_is_sequenced_deduplicated_and_resumable()
    {
        var user = "u-" + Guid.NewGuid().ToString("N")[..8];
        var target = await ConnectAsync(user);
        var sender = await ConnectAsync();
        var sent = new List<Sent>();
        for (var i = 0; i < 5; i++)
        {
            sent.Add(Assert.IsType<Sent>(await Connection(sender).Handle(new SendDirect(null, user, "1") { RequestId = "d" + i })));
        }
        var repeat = Assert.IsType<Sent>(await Connection(sender).Handle(new SendDirect(null, user, "1") { RequestId = "d4" }));
        var toConnection = Assert.IsType<Sent>(await Connection(sender).Handle(new SendDirect(target, null, "2")));

        var reconnected = await ConnectAsync(user);
        var resumed = Assert.IsType<Resumed>(await Connection(reconnected).Handle(
            new ResumeStreams(new Dictionary<string, StreamPosition>(), new StreamPosition(sent[0].Epoch!, 2))));
        await fixture.DrainAsync();

        Assert.Equal([1L, 2, 3, 4, 5], sent.Select(s => s.Seq!.Value));
        Assert.Equal((sent[4].MessageId, sent[4].Seq), (repeat.MessageId, repeat.Seq));
        Assert.Null(toConnection.Seq);
        Assert.Equal([1L, 2, 3, 4, 5], Seqs(Messages(target, null).Where(m => m.TryGetProperty("seq", out _))));
        Assert.Equal((true, 3, 5L), (resumed.User!.Recovered, resumed.User.Replayed, resumed.User.Seq));
        Assert.Equal([3L, 4, 5], Seqs(Messages(reconnected, null)));
    }

    [Fact]
    public async Task Resume_joins_each_room_from_its_position_and_refuses_rooms_one_by_one()
    {
        var a = NewRoom();
        var b = NewRoom();
        var sender = await ConnectAsync(null, a, b);
        var inA = await SendAsync(sender, a, "1");
        await SendAsync(sender, a, "2");
        var inB = await SendAsync(sender, b, "1");

        var client = await ConnectAsync();
        var reply = Assert.IsType<Resumed>(await Connection(client).Handle(new ResumeStreams(new Dictionary<string, StreamPosition>
        {
            [a] = new(inA.Epoch!, 0),
            [b] = new(inB.Epoch!, 1),
        }, User: null)));
        await fixture.DrainAsync();

        Assert.Equal((true, 2, 2L), (reply.Rooms[a].Recovered, reply.Rooms[a].Replayed, reply.Rooms[a].Seq));
        Assert.Equal((true, 0, 1L), (reply.Rooms[b].Recovered, reply.Rooms[b].Replayed, reply.Rooms[b].Seq));
        Assert.Equal([1L, 2], Seqs(Messages(client, a)));
        Assert.Empty(Messages(client, b));
        Assert.Contains(a, (await Connection(client).GetSnapshot())!.Rooms);
    }

    [Fact]
    public async Task History_pages_backwards_for_members_only()
    {
        var room = NewRoom();
        var member = await ConnectAsync(null, room);
        for (var i = 1; i <= 7; i++) await SendAsync(member, room, i.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var latest = Assert.IsType<HistoryReply>(await Connection(member).Handle(new HistoryQuery(room, 3, null)));
        var older = Assert.IsType<HistoryReply>(await Connection(member).Handle(new HistoryQuery(room, 10, 5)));
        var outsider = await ConnectAsync();
        var refused = Assert.IsType<ErrorReply>(await Connection(outsider).Handle(new HistoryQuery(room, 10, null)));

        Assert.Equal([5L, 6, 7], latest.Messages.Select(m => JsonDocument.Parse(m).RootElement.GetProperty("seq").GetInt64()));
        Assert.True(latest.More);
        Assert.Equal([1L, 2, 3, 4], older.Messages.Select(m => JsonDocument.Parse(m).RootElement.GetProperty("seq").GetInt64()));
        Assert.False(older.More);
        Assert.Equal((403, "not_in_room"), (refused.Status, refused.Code));
    }

    [Fact]
    public async Task A_history_reply_stays_under_128_KiB()
    {
        var room = NewRoom();
        var member = await ConnectAsync(null, room);
        var big = "\"" + new string('x', 20_000) + "\"";
        for (var i = 0; i < 10; i++) await SendAsync(member, room, big);

        var page = Assert.IsType<HistoryReply>(await Connection(member).Handle(new HistoryQuery(room, 10, null)));

        Assert.True(page.Messages.Sum(m => m.Length) < 128 * 1024);
        Assert.InRange(page.Messages.Count, 1, 9);
        Assert.True(page.More);
        Assert.Equal(10, JsonDocument.Parse(page.Messages[^1]).RootElement.GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task Ping_answers_pong_and_posts_nothing()
    {
        var id = await ConnectAsync(null, NewRoom());
        var before = fixture.Connections.ReceivedCount(id);

        var pong = Assert.IsType<Pong>(await Connection(id).Handle(new Ping()));
        await fixture.DrainAsync();

        Assert.InRange(pong.Time, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(before, fixture.Connections.ReceivedCount(id));
    }
}

using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using Tether.Testing.Reliability;
using Xunit.Abstractions;

namespace Tether.Tests.Reliability;

/// <summary>
/// Issue 14, point 6: sequence, history and resume (contract §7) proved with real processes — Redis, three silos,
/// the API and the local gateway as its own process — and clients that track their last (epoch, seq) per room and,
/// on a new connection (a new id, as API Gateway gives on every reconnect), resume. Each test prints its counts to
/// the test output and to <c>figures/resume-*.txt</c>.
/// </summary>
[Trait("Category", "Redis")]
public sealed class ResumeWithRealProcessesTests(ResumeClusterFixture cluster, ITestOutputHelper output)
    : IClassFixture<ResumeClusterFixture>
{
    private const int RoomCount = 5;
    private static readonly TimeSpan CatchUp = TimeSpan.FromSeconds(45);

    private static string[] Rooms(string prefix)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        return [.. Enumerable.Range(0, RoomCount).Select(i => $"{prefix}-{run}-{i}")];
    }

    [Fact]
    public async Task After_kill_9_of_the_busiest_rooms_silo_every_resuming_client_holds_every_acknowledged_message_once_in_order()
    {
        await cluster.UseGatewayAsync(maxLifetime: null);
        await cluster.ThreeSilosAsync();
        var rooms = Rooms("crash");
        var clients = await ClientsAsync("crash", 8, rooms);
        try
        {
            var victim = await cluster.SiloHostingAsync(cluster.Grains.GetGrain<IRoomGrain>(rooms[0]), g => g.Count());
            using var traffic = new Traffic(clients.Take(3).ToList(), rooms, limit: 2000);
            await traffic.WaitForAcknowledgedAsync(a => a.Count >= 60, CatchUp);

            var clock = Stopwatch.StartNew();
            await cluster.KillAsync(victim);
            var declaredDead = clock.Elapsed;
            var beforeDeath = traffic.Acknowledged.Count;
            // Traffic goes on until the busiest room has taken messages on its new silo.
            await traffic.WaitForAcknowledgedAsync(a => a.Count >= beforeDeath + 60 && a.Skip(beforeDeath).Count(m => m.Room == rooms[0]) >= 20, CatchUp);
            await traffic.StopAsync();
            NodeProcess newHost = null!;
            await Eventually.HoldsAsync(async () => newHost = await cluster.SiloHostingAsync(cluster.Grains.GetGrain<IRoomGrain>(rooms[0]), g => g.Count()),
                CatchUp, "the busiest room is on a live silo");

            // Every client comes back on a new connection and resumes from what it holds.
            foreach (var client in clients) await client.ReconnectAsync();
            var latest = Holdings.Latest(traffic.Acknowledged);
            foreach (var client in clients) await client.WaitUntilAsync(() => Holdings.CaughtUp(client, latest), CatchUp);

            var holdings = Holdings.Check(clients, traffic);
            Report("kill -9", $"kill -9 {victim.Name} (host of the busiest room {rooms[0]}), declared dead after {declaredDead.TotalMilliseconds:F0} ms; "
                + $"the room is now on {newHost.Name}; {beforeDeath} messages acknowledged before the kill was noticed", holdings);
            Assert.NotSame(victim, newHost);
            Assert.Empty(holdings.Problems);
        }
        catch
        {
            output.WriteLine(cluster.Output());
            throw;
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Connections_cut_by_the_gateways_maximum_lifetime_reconnect_and_resume_without_gap_or_duplicate()
    {
        await cluster.UseGatewayAsync(maxLifetime: TimeSpan.FromSeconds(4));
        var rooms = Rooms("cut");
        var clients = await ClientsAsync("cut", 6, rooms);
        try
        {
            using var traffic = new Traffic(clients.Take(2).ToList(), rooms, limit: 3000);
            // Long enough for every connection to be cut at least twice, and bounded in messages.
            foreach (var client in clients) await client.WaitUntilAsync(() => client.Cuts >= 2, TimeSpan.FromSeconds(50));
            await traffic.WaitForAcknowledgedAsync(a => a.Count >= 150, CatchUp);
            await traffic.StopAsync();
            var latest = Holdings.Latest(traffic.Acknowledged);
            foreach (var client in clients) await client.WaitUntilAsync(() => Holdings.CaughtUp(client, latest), CatchUp);

            var holdings = Holdings.Check(clients, traffic);
            Report("max lifetime", "the gateway's LocalGateway__MaxLifetime at 4 s cut every connection at least twice during traffic", holdings);
            Assert.Empty(holdings.Problems);
            // Nothing is lost here but the posts to a connection already cut, and a resume replays before anything
            // newer: so no connection ever saw a seq arrive past a missing one, and nothing had to be asked for twice.
            Assert.Equal(0, clients.Sum(c => c.Rooms.Sum(r => r.HolesSeen)));
            Assert.Equal(0, clients.Sum(c => c.Rooms.Sum(r => r.ExpectedDuplicates)));
        }
        catch
        {
            output.WriteLine(cluster.Output());
            throw;
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_resume_past_the_history_window_after_the_history_was_lost_or_with_another_epoch_gets_recovered_false()
    {
        await cluster.UseGatewayAsync(maxLifetime: null);
        var room = Rooms("window")[0];
        var lost = Rooms("lost")[0];
        await using var behind = await ClientAsync("behind", room, lost);
        await using var current = await ClientAsync("current", room);
        try
        {
            await PostAsync(room, 3);
            await PostAsync(lost, 3);
            await behind.WaitUntilAsync(() => behind.Room(room).Last == 3 && behind.Room(lost).Last == 3, CatchUp);
            await behind.GoOfflineAsync();

            // The history keeps the last History__Size (default 100) messages: one that fell 250 behind cannot be recovered.
            await PostAsync(room, 250);
            await current.WaitUntilAsync(() => current.Room(room).Last == 253, CatchUp);
            await current.GoOfflineAsync();
            await PostAsync(room, 5);

            // History lost: the room's Redis history, holding messages the client has not seen, is deleted while it is away.
            await PostAsync(lost, 2);
            var deleted = await DeleteHistoryAsync(lost);
            await PostAsync(lost, 1);

            await behind.ReconnectAsync();
            await current.ReconnectAsync();
            await current.WaitUntilAsync(() => current.Room(room).Last == 258, CatchUp);

            // Another epoch than the room's: nothing can be promised.
            await using var stranger = new ResumingClient("stranger", cluster.WebSocketUrl);
            await stranger.ConnectAsync();
            var strangeEpoch = await stranger.RequestAsync(new JsonObject
            {
                ["action"] = "resume",
                ["rooms"] = new JsonObject { [room] = new JsonObject { ["epoch"] = "not-the-epoch", ["seq"] = 1 } },
            });

            Report("recovered:false",
                $"250 messages past the window: behind resumed with recovered:false {behind.Room(room).Unrecovered} time(s); "
                + $"5 within it: current replayed {current.Replayed}; history deleted ({deleted}): behind recovered:false {behind.Room(lost).Unrecovered} time(s); "
                + $"another epoch: {strangeEpoch.ToJsonString()}", null);
            Assert.Equal(1, behind.Room(room).Unrecovered);
            Assert.Equal(1, behind.Room(lost).Unrecovered);
            Assert.Equal(0, behind.Replayed);
            Assert.Equal(0, current.Room(room).Unrecovered);
            Assert.Equal(5, current.Replayed);
            Assert.Equal(Enumerable.Range(1, 258).Select(i => (long)i), current.Room(room).Delivered.Select(m => m.Seq));
            Assert.Equal("resumed", strangeEpoch["type"]?.GetValue<string>());
            Assert.False(strangeEpoch["rooms"]![room]!["recovered"]!.GetValue<bool>());
            Assert.Equal(0, strangeEpoch["rooms"]![room]!["replayed"]!.GetValue<int>());
        }
        catch
        {
            output.WriteLine(cluster.Output());
            throw;
        }
    }

    /// <summary>Connected clients, each in every room; the busiest room is the first.</summary>
    private async Task<List<ResumingClient>> ClientsAsync(string prefix, int count, string[] rooms)
    {
        var clients = new List<ResumingClient>();
        for (var i = 0; i < count; i++)
        {
            var client = await ClientAsync($"{prefix}{i}", rooms);
            client.ReconnectWhenCut = true;
            clients.Add(client);
        }
        return clients;
    }

    private async Task<ResumingClient> ClientAsync(string name, params string[] rooms)
    {
        var client = new ResumingClient(name, cluster.WebSocketUrl);
        await client.ConnectAsync();
        foreach (var room in rooms) await client.JoinAsync(room);
        return client;
    }

    /// <summary>Posts messages through the admin API, one after another (each answer carries its seq).</summary>
    private async Task PostAsync(string room, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await cluster.Admin.PostAsJsonAsync($"/api/rooms/{room}/messages", new { message = $"admin {i}" });
            response.EnsureSuccessStatusCode();
            var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(answer.TryGetProperty("seq", out _), $"POST /api/rooms/{room}/messages answered {answer}");
        }
    }

    /// <summary>
    /// Deletes the room's history in Redis, as a Redis restart without persistence would: the sorted set that holds its
    /// messages and every key next to it (the same name up to the last ':', e.g. the epoch). Returns the keys.
    /// </summary>
    private async Task<string> DeleteHistoryAsync(string room)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis.ConnectionString);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var database = redis.GetDatabase();
        var streams = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: $"*{room}*"))
        {
            if (await database.KeyTypeAsync(key) == RedisType.SortedSet) streams.Add(key.ToString());
        }
        Assert.True(streams.Count > 0, $"no Redis sorted set holds the history of {room}");
        var deleted = new List<string>();
        foreach (var stream in streams)
        {
            var prefix = stream[..(stream.LastIndexOf(':') + 1)];
            await foreach (var key in server.KeysAsync(pattern: Glob(prefix) + "*"))
            {
                if (await database.KeyDeleteAsync(key)) deleted.Add(key.ToString());
            }
        }
        return string.Join(", ", deleted);
    }

    /// <summary>Text that a Redis KEYS pattern matches literally.</summary>
    private static string Glob(string text) => string.Concat(text.Select(c => c is '*' or '?' or '[' or ']' or '\\' ? $"\\{c}" : c.ToString()));

    private void Report(string scenario, string what, Holdings? holdings)
    {
        var line = holdings is null ? $"{scenario}: {what}" : $"{scenario}: {what}\n  {holdings.Counts}";
        if (holdings is { Problems.Count: > 0 }) line += "\n  problems:\n    " + string.Join("\n    ", holdings.Problems.Take(40));
        output.WriteLine(line);
        Figures.Write("resume-" + scenario.Replace(' ', '-').Replace(":", "", StringComparison.Ordinal), line);
    }
}

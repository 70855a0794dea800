using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace Tether.Tests.Security;

/// <summary>
/// A generated corpus of hostile requests hits every endpoint while well-behaved connections chat alongside;
/// afterwards nothing answered 5xx, the process still serves, and the well-behaved connections kept exactly
/// their memberships and received exactly what was sent to them, in order.
/// </summary>
[Collection(SecurityTests.Name)]
public sealed class HostileInputTests(SecurityFixture fixture, ITestOutputHelper output)
{
    private const int Seed = 20261125;
    private const int Victims = 6;
    private const int MessagesPerVictim = 24;
    private const string RoomA = "team-hostile-a";
    private const string RoomB = "team-hostile-b";

    [Fact]
    public async Task A_thousand_hostile_requests_get_4xx_and_corrupt_nothing()
    {
        var random = new Random(Seed);
        var victims = Enumerable.Range(0, Victims)
            .Select(_ => "good" + new string([.. Enumerable.Range(0, 11).Select(_ => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[random.Next(62)])]) + "=")
            .ToList();
        var expectedRooms = victims.ToDictionary(v => v, v => victims.IndexOf(v) % 2 == 0 ? new[] { "lobby", RoomA, RoomB } : ["lobby", RoomA]);
        var corpus = new HostileCorpus(Seed, victims, [RoomA, RoomB], user => fixture.Token(user, rooms: ["evil-*"])).Generate();
        Assert.True(corpus.Count >= 1000, $"The corpus has only {corpus.Count} requests: {HostileCorpus.Describe(corpus)}");

        using var integration = fixture.Integration();
        foreach (var victim in victims)
        {
            fixture.Connections.Add(victim);
            var rooms = string.Join(',', expectedRooms[victim].Skip(1));
            var token = fixture.Token("victim-" + victims.IndexOf(victim), rooms: ["team-*"]);
            using var connected = await integration.PostAsync("/connect", SecurityFixture.Json($"{{\"connection_id\":\"{victim}\",\"token\":\"{token}\",\"rooms\":\"{rooms}\"}}"));
            Assert.Equal(HttpStatusCode.OK, connected.StatusCode);
        }

        // Both run at once: the corpus in four workers, each victim sending its messages one after another.
        var serverErrors = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var queue = new ConcurrentQueue<HostileRequest>(corpus);
        var hostile = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var http = fixture.Factory.CreateClient();
            while (queue.TryDequeue(out var item))
            {
                var (status, body) = await SendAsync(http, item);
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                if (status >= 500) serverErrors.Enqueue($"{status} for {item}: {body}");
            }
        }));
        var sent = new ConcurrentDictionary<(string Sender, string Room), List<int>>();
        var victimFailures = new ConcurrentQueue<string>();
        var wellBehaved = victims.Select(victim => Task.Run(async () =>
        {
            using var http = fixture.Integration();
            for (var seq = 0; seq < MessagesPerVictim; seq++)
            {
                var room = expectedRooms[victim].Length == 3 && seq % 2 == 1 ? RoomB : RoomA;
                using var response = await http.PostAsync("/handle-event", SecurityFixture.Json(
                    $"{{\"connection_id\":\"{victim}\",\"body\":{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":{{\"seq\":{seq}}}}}}}"));
                if (response.StatusCode == HttpStatusCode.OK) sent.GetOrAdd((victim, room), _ => []).Add(seq);
                else victimFailures.Enqueue($"{victim} seq {seq}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }));
        await Task.WhenAll(hostile.Concat(wellBehaved));
        await fixture.DrainAsync();

        output.WriteLine($"{corpus.Count} hostile requests ({HostileCorpus.Describe(corpus)})");
        output.WriteLine("statuses: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.True(serverErrors.IsEmpty, $"{serverErrors.Count} server errors, e.g.:\n{string.Join("\n", serverErrors.Take(10))}");
        Assert.True(victimFailures.IsEmpty, string.Join("\n", victimFailures.Take(10)));
        Assert.True(statuses.Keys.All(s => s is >= 200 and < 500), string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
        Assert.True(statuses.GetValueOrDefault(401) >= 200, "The forged secrets, tokens and keys should have drawn hundreds of 401s.");

        // The process is still up and still serves new connections.
        using var health = await integration.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var late = SecurityFixture.NewId();
        using (var lateConnect = await integration.PostAsync("/connect", SecurityFixture.Json($"{{\"connection_id\":\"{late}\",\"token\":\"{fixture.Token("late")}\"}}")))
        {
            Assert.Equal(HttpStatusCode.OK, lateConnect.StatusCode);
        }

        // Memberships: exactly as set up, seen from the connections and from the rooms.
        using var admin = fixture.Admin();
        foreach (var victim in victims)
        {
            var snapshotResponse = await admin.GetAsync($"/api/connections/{Uri.EscapeDataString(victim)}");
            Assert.True(snapshotResponse.IsSuccessStatusCode, $"{victim}: {(int)snapshotResponse.StatusCode} {await snapshotResponse.Content.ReadAsStringAsync()}");
            var snapshot = JsonDocument.Parse(await snapshotResponse.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(expectedRooms[victim].Order(StringComparer.Ordinal), snapshot.GetProperty("rooms").EnumerateArray().Select(r => r.GetString()!));
            Assert.Equal("victim-" + victims.IndexOf(victim), snapshot.GetProperty("user").GetString());
        }
        foreach (var room in new[] { RoomA, RoomB })
        {
            var page = JsonDocument.Parse(await admin.GetStringAsync($"/api/rooms/{room}/members?limit=1000")).RootElement;
            var expected = victims.Where(v => expectedRooms[v].Contains(room)).Order(StringComparer.Ordinal);
            Assert.Equal(expected, page.GetProperty("items").EnumerateArray().Select(i => i.GetString()!));
        }

        // Deliveries: every victim got every victim message of its rooms once, in the order sent, and nothing else from victims.
        foreach (var recipient in victims)
        {
            var received = fixture.Connections.Received(recipient).Select(m => JsonDocument.Parse(m).RootElement)
                .Where(m => m.GetProperty("type").GetString() == "message" && victims.Contains(m.GetProperty("from").GetString() ?? ""))
                .ToList();
            foreach (var ((sender, room), seqs) in sent)
            {
                var got = received.Where(m => m.GetProperty("from").GetString() == sender && m.GetProperty("room").GetString() == room)
                    .Select(m => m.GetProperty("body").GetProperty("seq").GetInt32()).ToList();
                Assert.Equal(expectedRooms[recipient].Contains(room) ? seqs : [], got);
            }
            Assert.Equal(sent.Where(s => expectedRooms[recipient].Contains(s.Key.Room)).Sum(s => s.Value.Count), received.Count);
        }
    }

    private static async Task<(int Status, string Body)> SendAsync(HttpClient http, HostileRequest item)
    {
        // Absolute, so a path such as "//connect" stays a path instead of naming a host.
        using var request = new HttpRequestMessage(new HttpMethod(item.Method), new Uri(http.BaseAddress!.GetLeftPart(UriPartial.Authority) + item.Path));
        if (item.Body is not null)
        {
            request.Content = new ByteArrayContent(item.Body);
            if (item.ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", item.ContentType);
        }
        foreach (var (name, value) in item.Headers) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, body.Length > 300 ? body[..300] : body);
    }
}

using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Tether.Contracts;
using Xunit.Abstractions;

namespace Tether.Tests.Api;

/// <summary>
/// Issue 18 point 4's measurement, through the real endpoints with the default settings: one connection alternating
/// joinroom and leaveroom in a 500-member room, at its own message limit, for five seconds.
/// </summary>
[Collection(ApiTests.Name)]
public sealed class PresenceAmplificationTests(ApiFixture fixture, ITestOutputHelper output)
{
    private const int Members = 500;
    private readonly HttpClient _http = fixture.Factory.CreateClient();

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private async Task<HttpStatusCode> PostAsync(string path, string json)
    {
        using var response = await _http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return response.StatusCode;
    }

    private int Presence(IEnumerable<string> ids) => ids.Sum(id =>
        fixture.Connections.Received(id).Count(m => JsonDocument.Parse(m).RootElement.GetProperty("type").GetString() == "presence"));

    [Fact]
    public async Task Alternating_joinroom_and_leaveroom_in_a_500_member_room_stays_under_the_default_cap()
    {
        var room = "big-" + Guid.NewGuid().ToString("N")[..8];
        var members = Enumerable.Range(0, Members).Select(_ => NewId()).ToList();
        foreach (var id in members) fixture.Connections.Add(id);
        await Parallel.ForEachAsync(members, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, _) =>
            Assert.Equal(HttpStatusCode.OK, await PostAsync("/connect", $$"""{"connection_id":"{{id}}","rooms":["{{room}}"]}""")));
        var attacker = NewId();
        fixture.Connections.Add(attacker);
        Assert.Equal(HttpStatusCode.OK, await PostAsync("/connect", $$"""{"connection_id":"{{attacker}}"}"""));
        await fixture.DrainAsync();
        var before = Presence(members);

        var clock = Stopwatch.StartNew();
        var changes = 0;
        var action = "joinroom";
        while (clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (await PostAsync("/handle-event", $$$"""{"connection_id":"{{{attacker}}}","body":{"action":"{{{action}}}","room":"{{{room}}}"}}""") != HttpStatusCode.OK) continue;
            action = action == "joinroom" ? "leaveroom" : "joinroom";
            changes++;
        }
        await fixture.DrainAsync();
        var elapsed = clock.Elapsed.TotalSeconds;
        var posts = Presence(members) - before;

        output.WriteLine($"{changes} joins/leaves in {elapsed:0.0} s in a {Members}-member room: {posts} presence posts ({posts / elapsed:0} posts/s; cap {RoomOptions.DefaultMaxPresencePostsPerSecond}/s)");
        Assert.True(changes >= 40, $"the attack made only {changes} joins/leaves");
        Assert.True(posts <= RoomOptions.DefaultMaxPresencePostsPerSecond * (elapsed + 1) + Members,
            $"{posts} presence posts in {elapsed:0.0} s, over the default cap of {RoomOptions.DefaultMaxPresencePostsPerSecond}/s");
    }
}

using System.Net;
using Microsoft.Extensions.Logging;

namespace Tether.Tests.Security;

/// <summary>
/// A full run with every log category at Debug — startup, connects with tokens, refused tokens and secrets, messages,
/// admin calls, a 403 from the Management API — and not one secret value in any log line or exception text.
/// </summary>
[Collection(SecurityTests.Name)]
public sealed class SecretsInLogsTests(SecurityFixture fixture)
{
    [Fact]
    public async Task No_secret_value_appears_in_any_log_entry()
    {
        using var http = fixture.Integration();
        using var oldSecret = fixture.Integration(SecurityFixture.OldSecret);
        using var forged = fixture.Integration(SecurityFixture.Secret[..^1] + "0");
        using var admin = fixture.Admin();
        using var oldAdmin = fixture.Admin(SecurityFixture.OldApiKey);
        using var wrongAdmin = fixture.Admin(SecurityFixture.ApiKey[..^1] + "0");

        var room = "team-logs";
        var alice = SecurityFixture.NewId();
        var bob = SecurityFixture.NewId();
        var forbidden = SecurityFixture.NewId();
        fixture.Connections.Add(alice);
        fixture.Connections.Add(bob);
        fixture.Connections.Add(forbidden);
        // The Management API refuses posts to this one with 403, which the client logs as a configuration error.
        fixture.Gateway.Emulator.Faults.Script(forbidden, 403, 403, 403);

        foreach (var (id, user, client) in new[] { (alice, "alice", http), (bob, "bob", oldSecret), (forbidden, "frank", http) })
        {
            using var connected = await client.PostAsync("/connect", SecurityFixture.Json(
                $"{{\"connection_id\":\"{id}\",\"token\":\"{fixture.Token(user, rooms: ["team-*"])}\",\"rooms\":[\"{room}\"]}}"));
            Assert.Equal(HttpStatusCode.OK, connected.StatusCode);
        }
        using (var refused = await http.PostAsync("/connect", SecurityFixture.Json(
                   $"{{\"connection_id\":\"{SecurityFixture.NewId()}\",\"token\":\"{fixture.Token("eve", expires: DateTime.UtcNow.AddHours(-1))}\"}}")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        using (var wrongSignature = await http.PostAsync("/connect", SecurityFixture.Json(
                   $"{{\"connection_id\":\"{SecurityFixture.NewId()}\",\"token\":\"{fixture.Token("eve")[..^4]}AAAA\"}}")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrongSignature.StatusCode);
        }
        using (var forgedEvent = await forged.PostAsync("/handle-event", SecurityFixture.Json($"{{\"connection_id\":\"{alice}\",\"body\":{{\"message\":1}}}}")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forgedEvent.StatusCode);
        }
        for (var i = 0; i < 5; i++)
        {
            using var sent = await http.PostAsync("/handle-event", SecurityFixture.Json(
                $"{{\"connection_id\":\"{alice}\",\"body\":{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":\"hello {i}\"}}}}"));
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        }
        using (var waited = await admin.PostAsync($"/api/rooms/{room}/messages?wait=true", SecurityFixture.Json("{\"message\":\"from ops\"}")))
        {
            Assert.Equal(HttpStatusCode.OK, waited.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await oldAdmin.GetAsync($"/api/connections/{Uri.EscapeDataString(bob)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongAdmin.GetAsync($"/api/rooms/{room}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/connections/{Uri.EscapeDataString(bob)}")).StatusCode);
        using (var gone = new HttpRequestMessage(HttpMethod.Delete, "/disconnect") { Content = SecurityFixture.Json($"{{\"connection_id\":\"{alice}\"}}") })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(gone)).StatusCode);
        }
        await fixture.DrainAsync();

        var entries = fixture.Logs.Entries;
        // The capture saw the run: startup, connects, the Management API's 403, request logging.
        Assert.Contains(entries, e => e.Text.Contains("Integration endpoints require the X-Gateway-Secret header", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Text.Contains("/connect requires a JWT", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Text.Contains($"Connection {alice} connected (user alice", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Level >= LogLevel.Warning && e.Text.Contains("403", StringComparison.Ordinal) && e.Category.Contains("Management", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Level == LogLevel.Debug);

        var secrets = new Dictionary<string, string>
        {
            ["integration secret"] = SecurityFixture.Secret,
            ["old integration secret"] = SecurityFixture.OldSecret,
            ["API key"] = SecurityFixture.ApiKey,
            ["old API key"] = SecurityFixture.OldApiKey,
            ["AWS secret access key"] = TestCredentials.SecretAccessKey,
            ["JWT HMAC key"] = SecurityFixture.HmacKeyBase64,
        };
        foreach (var token in fixture.IssuedTokens)
        {
            secrets["token " + token[..12]] = token;
            secrets["token signature " + token[..12]] = token[(token.LastIndexOf('.') + 1)..];
        }
        foreach (var (name, value) in secrets)
        {
            var leak = entries.FirstOrDefault(e => e.Text.Contains(value, StringComparison.Ordinal));
            Assert.True(leak == default, $"The {name} appears in a log entry of {leak.Category}: {leak.Text}");
        }
        Assert.True(entries.Count > 500, $"Only {entries.Count} log entries were captured; the run should log far more at Debug.");
    }
}

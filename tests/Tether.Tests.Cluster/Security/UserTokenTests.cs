using System.Net;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tether.Tests.Security;

[Collection(SecurityTests.Name)]
public sealed class UserTokenTests(SecurityFixture fixture)
{
    private readonly HttpClient _http = fixture.Integration();

    private async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(string path, string json)
    {
        using var response = await _http.PostAsync(path, SecurityFixture.Json(json));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private Task<(HttpStatusCode, JsonElement)> ConnectAsync(string id, string? token, string extra = "") =>
        PostAsync("/connect", $"{{\"connection_id\":\"{id}\"{(token is null ? "" : $",\"token\":\"{token}\"")}{extra}}}");

    private Task<(HttpStatusCode, JsonElement)> EventAsync(string id, string body) =>
        PostAsync("/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{body}}}");

    private async Task<JsonElement> SnapshotAsync(string id)
    {
        using var admin = fixture.Admin();
        using var response = await admin.GetAsync($"/api/connections/{Uri.EscapeDataString(id)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task The_user_comes_from_the_token_and_the_template_cannot_override_it()
    {
        var id = SecurityFixture.NewId();
        var (status, _) = await ConnectAsync(id, fixture.Token("alice"), ",\"user\":\"mallory\"");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("alice", (await SnapshotAsync(id)).GetProperty("user").GetString());
    }

    [Fact]
    public async Task Rsa_pem_and_ec_jwks_keys_verify_tokens()
    {
        var rsa = new SigningCredentials(new RsaSecurityKey(fixture.Rsa), SecurityAlgorithms.RsaSha256);
        var ec = new SigningCredentials(new ECDsaSecurityKey(fixture.Ec) { KeyId = "ec-1" }, SecurityAlgorithms.EcdsaSha256);

        var (rsaStatus, _) = await ConnectAsync(SecurityFixture.NewId(), fixture.Token("rsa-user", credentials: rsa));
        var (ecStatus, _) = await ConnectAsync(SecurityFixture.NewId(), fixture.Token("ec-user", credentials: ec));

        Assert.Equal(HttpStatusCode.OK, rsaStatus);
        Assert.Equal(HttpStatusCode.OK, ecStatus);
    }

    [Fact]
    public async Task A_token_expired_within_the_clock_skew_is_still_accepted()
    {
        var (status, _) = await ConnectAsync(SecurityFixture.NewId(), fixture.Token(expires: DateTime.UtcNow.AddSeconds(-5)));
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Theory]
    [InlineData("expired", "expired")]
    [InlineData("not yet valid", "not valid yet")]
    [InlineData("wrong issuer", "issuer")]
    [InlineData("wrong audience", "audience")]
    [InlineData("wrong key", "signature")]
    [InlineData("unsigned", "")]
    [InlineData("garbage", "")]
    [InlineData("no subject", "\"sub\"")]
    [InlineData("control characters in subject", "\"sub\"")]
    [InlineData("white space for subject", "\"sub\"")]
    [InlineData("HS256 signed with the RSA public key", "")]
    public async Task A_refused_token_answers_401_so_API_Gateway_refuses_the_socket(string kind, string reason)
    {
        var now = DateTime.UtcNow;
        var token = kind switch
        {
            "expired" => fixture.Token(expires: now.AddMinutes(-2)),
            "not yet valid" => fixture.Token(notBefore: now.AddMinutes(2), expires: now.AddMinutes(10)),
            "wrong issuer" => fixture.Token(issuer: "https://evil.example"),
            "wrong audience" => fixture.Token(audience: "someone-else"),
            "wrong key" => fixture.Token(credentials: new SigningCredentials(
                new SymmetricSecurityKey(new byte[32]), SecurityAlgorithms.HmacSha256)),
            "unsigned" => new JsonWebTokenHandler().CreateToken(
                $$"""{"sub":"alice","iss":"{{SecurityFixture.Issuer}}","aud":"{{SecurityFixture.Audience}}","exp":{{DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds()}}}"""),
            "garbage" => "not.a.token",
            "no subject" => fixture.Token(subject: null),
            "control characters in subject" => fixture.Token(subject: "al\u0001ice"),
            "white space for subject" => fixture.Token(subject: "  "),
            "HS256 signed with the RSA public key" => fixture.Token(credentials: new SigningCredentials(
                new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(fixture.Rsa.ExportSubjectPublicKeyInfoPem())), SecurityAlgorithms.HmacSha256)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var id = SecurityFixture.NewId();

        var (status, json) = await ConnectAsync(id, token);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal("invalid_token", json.GetProperty("code").GetString());
        Assert.Contains(reason, json.GetProperty("message").GetString(), StringComparison.Ordinal);
        using var admin = fixture.Admin();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/connections/{Uri.EscapeDataString(id)}")).StatusCode);
    }

    [Fact]
    public async Task A_connect_without_a_token_is_refused()
    {
        var (status, json) = await ConnectAsync(SecurityFixture.NewId(), token: null, ",\"user\":\"alice\"");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("missing_token", json.GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_rooms_claim_limits_joins_and_sends_for_the_connections_lifetime()
    {
        var id = SecurityFixture.NewId();
        fixture.Connections.Add(id);
        var (connected, _) = await ConnectAsync(id, fixture.Token("bob", rooms: ["team-*", "general"]), ",\"rooms\":\"team-red,general\"");

        var (joinTeam, _) = await EventAsync(id, "{\"action\":\"joinroom\",\"room\":\"team-blue\"}");
        var (joinOther, refusedJoin) = await EventAsync(id, "{\"action\":\"joinroom\",\"room\":\"admins\"}");
        var (sendOther, refusedSend) = await EventAsync(id, "{\"action\":\"sendmessage\",\"room\":\"admins\",\"message\":\"hi\"}");
        var (sendTeam, _) = await EventAsync(id, "{\"action\":\"sendmessage\",\"room\":\"team-red\",\"message\":\"hi\"}");
        var (sendLobby, _) = await EventAsync(id, "{\"action\":\"chat\",\"message\":\"hi\"}");

        Assert.Equal(HttpStatusCode.OK, connected);
        Assert.Equal(HttpStatusCode.OK, joinTeam);
        Assert.Equal(HttpStatusCode.Forbidden, joinOther);
        Assert.Equal("room_forbidden", refusedJoin.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, sendOther);
        Assert.Equal("room_forbidden", refusedSend.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, sendTeam);
        Assert.Equal(HttpStatusCode.OK, sendLobby);
        var rooms = (await SnapshotAsync(id)).GetProperty("rooms").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Equal(["general", "lobby", "team-blue", "team-red"], rooms);
    }

    [Fact]
    public async Task A_connect_asking_for_a_room_the_token_does_not_allow_is_refused_with_403()
    {
        var id = SecurityFixture.NewId();
        var (status, json) = await ConnectAsync(id, fixture.Token("carol", rooms: ["team-*"]), ",\"rooms\":[\"team-a\",\"admins\"]");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("room_forbidden", json.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_token_without_the_rooms_claim_allows_only_the_default_room()
    {
        var id = SecurityFixture.NewId();
        var (connected, _) = await ConnectAsync(id, fixture.Token("dave"));
        var (joinLobby, _) = await EventAsync(id, "{\"action\":\"joinroom\"}");
        var (joinNamed, json) = await EventAsync(id, "{\"action\":\"joinroom\",\"room\":\"anything\"}");

        Assert.Equal(HttpStatusCode.OK, connected);
        Assert.Equal(HttpStatusCode.OK, joinLobby);
        Assert.Equal(HttpStatusCode.Forbidden, joinNamed);
        Assert.Equal("room_forbidden", json.GetProperty("code").GetString());
    }
}

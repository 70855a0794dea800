using System.Globalization;
using System.Text;

namespace Tether.Tests.Security;

/// <summary>One hostile request: what to send, and which family it belongs to (for failure messages).</summary>
public sealed record HostileRequest(string Kind, string Method, string Path, byte[]? Body, string? ContentType, IReadOnlyList<(string Name, string Value)> Headers)
{
    public override string ToString()
    {
        var body = Body is null ? "" : Encoding.UTF8.GetString(Body);
        return $"[{Kind}] {Method} {Path} ({ContentType ?? "no content type"}) {(body.Length > 160 ? body[..160] + "…" : body)}";
    }
}

/// <summary>
/// A deterministic corpus of malformed and hostile requests across every endpoint: broken JSON, wrong types, huge and
/// deeply nested values, odd Unicode, bad ids, missing and duplicate fields, wrong methods and content types, forged
/// secrets, tokens and API keys. Requests carrying the real integration secret only ever name the attacker's own
/// connection ids: through API Gateway a client can speak only for its own connection, so forging someone else's id
/// requires the secret. Requests that name the well-behaved connections carry forged secrets.
/// </summary>
public sealed class HostileCorpus(int seed, IReadOnlyList<string> victimIds, IReadOnlyList<string> victimRooms, Func<string, string> validToken)
{
    private readonly Random _random = new(seed);

    public static readonly string[] BadIds =
    [
        "", " ", "../etc/passwd", "..%2F..%2Fadmin", "a/../b", "%2e%2e%2f", "a b", "a\\tb", "a\\u0000b", "\\ud800abc=", "abc===",
        "=", "==", "ü", "a?b", "a#b", "a;b", "a,b", "a:b", "a@b", "a.b", "\\u202eRTL", "\\u200b", "null", "\\/\\/", "a%00",
        new string('A', 129), new string('/', 10), "AAAA\\nBBBB", "\\\\", "\\\"",
    ];

    private static readonly string[] OddStrings =
    [
        "\\ud800", "\\udfff", "\\udc00\\ud800", "a\\u0000b", "\\u202e\\u202dx", "\\u200d\\u200c", "\\ufeff", "\\uffff", "\\ufffd",
        "😀👩‍👩‍👧", "ทดสอบ", "مرحبا", "\\u0001\\u001f", "\\\\u0000", "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:ldap://x}",
        "%s%s%s%n", "{{7*7}}", "../../", "\\r\\n\\r\\nHTTP/1.1 200 OK",
    ];

    private static readonly string[] BrokenJson =
    [
        "{", "}", "{\"connection_id\":", "{\"connection_id\":\"abc=\"", "{\"connection_id\":\"abc=\",}", "{'connection_id':'abc='}",
        "{connection_id:\"abc=\"}", "{\"connection_id\":\"abc=\"}}", "{\"connection_id\":\"abc=\"} trailing", "[]", "[{}]", "null",
        "true", "42", "\"string\"", "{\"connection_id\":NaN}", "{\"connection_id\":Infinity}", "{\"a\":01}", "{\"a\":.5}",
        "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"tab\there\"}", "/* c */{\"connection_id\":\"abc=\"}",
        "{\"connection_id\":\"abc=\"}// c", "\u0000", "{\"a\":1,\"a\":2}", "{\"connection_id\":\"abc=\" \"body\":1}", " ", "\n\n",
    ];

    private static readonly string[] Methods = ["GET", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE"];

    private static readonly string[] ContentTypes =
    [
        "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/xml", "text/html", "image/png",
        "application/json; charset=utf-16", "application/octet-stream", "x/y; a=\"b", "*/*", "application/json; charset=ebcdic",
    ];

    public List<HostileRequest> Generate()
    {
        var list = new List<HostileRequest>();
        ForgedSecrets(list);
        Broken(list);
        WrongTypes(list);
        Huge(list);
        Nested(list);
        Unicode(list);
        Ids(list);
        MissingAndDuplicate(list);
        WrongMethodsAndContentTypes(list);
        Tokens(list);
        Admin(list);
        Shuffle(list);
        return list;
    }

    private string AttackerId() =>
        "evil" + new string(Enumerable.Range(0, 10).Select(_ => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[_random.Next(64)]).ToArray()) + "=";

    private string Pick(IReadOnlyList<string> items) => items[_random.Next(items.Count)];

    private static readonly (string Name, string Value)[] NoHeaders = [];

    private static (string, string)[] WithSecret => [(SecurityFixture.SecretHeader, SecurityFixture.Secret)];

    private static HostileRequest Integration(string kind, string path, string json, string method = "POST", string? contentType = "application/json", (string, string)[]? headers = null) =>
        new(kind, method, path, Encoding.UTF8.GetBytes(json), contentType, headers ?? WithSecret);

    private string IntegrationPath() => Pick(["/connect", "/handle-event", "/disconnect"]);

    private string ClientMessage()
    {
        var room = Pick([.. victimRooms, "lobby", "team-evil", "x"]);
        return Pick(
        [
            $"{{\"action\":\"joinroom\",\"room\":\"{room}\"}}",
            $"{{\"action\":\"leaveroom\",\"room\":\"{room}\"}}",
            $"{{\"action\":\"sendmessage\",\"room\":\"{room}\",\"message\":\"forged\"}}",
            $"{{\"action\":\"sendto\",\"connectionId\":\"{Pick(victimIds)}\",\"message\":\"forged\"}}",
            "{\"action\":\"chat\",\"message\":\"forged\"}",
        ]);
    }

    /// <summary>
    /// Well-formed requests in a victim's name, with a missing, near-miss or misplaced secret. (White space around a
    /// header value is not part of it in HTTP, so " secret" is the secret, not a near miss.)
    /// </summary>
    private void ForgedSecrets(List<HostileRequest> list)
    {
        var secret = SecurityFixture.Secret;
        (string, string)[][] forged =
        [
            [],
            [(SecurityFixture.SecretHeader, "")],
            [(SecurityFixture.SecretHeader, secret[..^1])],
            [(SecurityFixture.SecretHeader, secret + "x")],
            [(SecurityFixture.SecretHeader, secret[..^1] + "e")],
            [(SecurityFixture.SecretHeader, secret.ToUpperInvariant())],
            [(SecurityFixture.SecretHeader, SecurityFixture.ApiKey)],
            [(SecurityFixture.SecretHeader, secret), (SecurityFixture.SecretHeader, "second-value-makes-it-ambiguous")],
            [("X-Gateway-Secrets", secret)],
            [("Authorization", "Bearer " + secret)],
            [(SecurityFixture.SecretHeader, new string('s', 4096))],
            [(SecurityFixture.SecretHeader, "gateway-secret-current-7f3a9c2e5b8%")],
        ];
        for (var i = 0; i < 260; i++)
        {
            var victim = Pick(victimIds);
            var headers = forged[i % forged.Length];
            var (method, path, json) = (i % 4) switch
            {
                0 => ("POST", "/connect", $"{{\"connection_id\":\"{victim}\",\"user\":\"mallory\",\"token\":\"{validToken("mallory")}\",\"rooms\":[\"{Pick(victimRooms)}\"]}}"),
                1 => ("DELETE", "/disconnect", $"{{\"connection_id\":\"{victim}\"}}"),
                2 => ("POST", "/disconnect", $"{{\"connection_id\":\"{victim}\",\"status_code\":1000}}"),
                _ => ("POST", "/handle-event", $"{{\"connection_id\":\"{victim}\",\"body\":{ClientMessage()}}}"),
            };
            list.Add(Integration("forged-secret", path, json, method, headers: headers));
        }
    }

    private void Broken(List<HostileRequest> list)
    {
        foreach (var json in BrokenJson)
        {
            foreach (var path in new[] { "/connect", "/handle-event", "/disconnect" }) list.Add(Integration("broken-json", path, json));
        }
        var valid = $"{{\"connection_id\":\"{AttackerId()}\",\"body\":{{\"action\":\"sendmessage\",\"room\":\"team-evil\",\"message\":{{\"a\":[1,2,{{\"b\":\"c\"}}]}}}}}}";
        for (var cut = 1; cut < valid.Length; cut += 3) list.Add(Integration("truncated", IntegrationPath(), valid[..cut]));
        for (var i = 0; i < 40; i++)
        {
            var bytes = new byte[_random.Next(1, 300)];
            _random.NextBytes(bytes);
            list.Add(new HostileRequest("random-bytes", "POST", IntegrationPath(), bytes, Pick(["application/json", "text/plain"]), WithSecret));
        }
        // Invalid UTF-8 inside otherwise valid JSON: overlong '/', a lone continuation byte, an encoded surrogate, a cut sequence.
        foreach (var bad in new byte[][] { [0xC0, 0xAF], [0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xFF, 0xFE], [0xF4, 0x90, 0x80, 0x80] })
        {
            foreach (var path in new[] { "/connect", "/handle-event", "/disconnect" })
            {
                var prefix = Encoding.UTF8.GetBytes($"{{\"connection_id\":\"{AttackerId()}\",\"body\":\"x");
                var suffix = Encoding.UTF8.GetBytes("\",\"user\":\"u\"}");
                list.Add(new HostileRequest("invalid-utf8", "POST", path, [.. prefix, .. bad, .. suffix], "application/json", WithSecret));
                list.Add(new HostileRequest("invalid-utf8-in-id", "POST", path, [.. Encoding.UTF8.GetBytes("{\"connection_id\":\"ab"), .. bad, .. Encoding.UTF8.GetBytes("=\"}")], "application/json", WithSecret));
            }
        }
        list.Add(new HostileRequest("bom", "POST", "/connect", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes($"{{\"connection_id\":\"{AttackerId()}\"}}")], "application/json", WithSecret));
    }

    private void WrongTypes(List<HostileRequest> list)
    {
        string[] values = ["42", "-1", "1e400", "-0", "true", "false", "null", "[]", "{}", "[\"a\"]", "{\"a\":1}", "\"\"", "1.5", "123456789012345678901234567890"];
        string[] connectFields = ["connection_id", "user", "token", "rooms", "source_ip", "user_agent", "connected_at", "request_id"];
        foreach (var field in connectFields)
        {
            foreach (var value in values)
            {
                var id = field == "connection_id" ? "" : $"\"connection_id\":\"{AttackerId()}\",";
                list.Add(Integration("wrong-type-connect", "/connect", $"{{{id}\"{field}\":{value}}}"));
            }
        }
        string[] messageFields = ["action", "room", "message", "echo", "connectionId", "user"];
        foreach (var field in messageFields)
        {
            foreach (var value in values)
            {
                var action = field == "action" ? "" : $"\"action\":\"{Pick(["joinroom", "leaveroom", "sendmessage", "sendto"])}\",";
                list.Add(Integration("wrong-type-message", "/handle-event", $"{{\"connection_id\":\"{AttackerId()}\",\"body\":{{{action}\"{field}\":{value}}}}}"));
            }
        }
        foreach (var value in values)
        {
            list.Add(Integration("wrong-type-body", "/handle-event", $"{{\"connection_id\":\"{AttackerId()}\",\"body\":{value}}}"));
            list.Add(Integration("wrong-type-disconnect", "/disconnect", $"{{\"connection_id\":\"{AttackerId()}\",\"status_code\":{value},\"reason\":{value}}}"));
        }
    }

    private void Huge(List<HostileRequest> list)
    {
        var id = AttackerId();
        list.Add(Integration("huge-body", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"message\":\"{new string('x', 1_100_000)}\"}}}}"));
        list.Add(Integration("huge-body", "/connect", $"{{\"connection_id\":\"{id}\",\"pad\":\"{new string('x', 2_000_000)}\"}}"));
        list.Add(Integration("huge-message", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"message\":\"{new string('x', 140_000)}\"}}}}"));
        list.Add(Integration("huge-message-string-body", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":\"{new string('y', 200_000)}\"}}"));
        list.Add(Integration("huge-room", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"joinroom\",\"room\":\"{new string('r', 5000)}\"}}}}"));
        list.Add(Integration("huge-user", "/connect", $"{{\"connection_id\":\"{id}\",\"user\":\"{new string('u', 10_000)}\"}}"));
        list.Add(Integration("huge-token", "/connect", $"{{\"connection_id\":\"{id}\",\"token\":\"{new string('t', 100_000)}\"}}"));
        list.Add(Integration("many-rooms", "/connect", $"{{\"connection_id\":\"{id}\",\"rooms\":[{string.Join(',', Enumerable.Range(0, 5000).Select(i => $"\"r{i}\""))}]}}"));
        list.Add(Integration("many-rooms-string", "/connect", $"{{\"connection_id\":\"{id}\",\"rooms\":\"{string.Join(',', Enumerable.Range(0, 5000).Select(i => $"r{i}"))}\"}}"));
        list.Add(Integration("many-fields", "/handle-event", $"{{\"connection_id\":\"{id}\",{string.Join(',', Enumerable.Range(0, 20_000).Select(i => $"\"f{i}\":{i}"))}}}"));
        list.Add(Integration("huge-number", "/connect", $"{{\"connection_id\":\"{id}\",\"connected_at\":{new string('9', 5000)}}}"));
        list.Add(new HostileRequest("huge-header", "POST", "/connect", Encoding.UTF8.GetBytes($"{{\"connection_id\":\"{id}\"}}"), "application/json",
            [.. WithSecret, ("X-Padding", new string('h', 16_000))]));
    }

    private void Nested(List<HostileRequest> list)
    {
        foreach (var depth in new[] { 63, 64, 65, 100, 1000, 10_000, 100_000 })
        {
            var arrays = new string('[', depth) + new string(']', depth);
            var objects = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
            var id = AttackerId();
            list.Add(Integration("nested-array", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"message\":{arrays}}}}}"));
            list.Add(Integration("nested-object", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{objects}}}"));
            list.Add(Integration("nested-in-string", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":\"{{\\\"message\\\":{arrays}}}\"}}"));
            list.Add(Integration("nested-rooms", "/connect", $"{{\"connection_id\":\"{id}\",\"rooms\":{arrays}}}"));
        }
    }

    private void Unicode(List<HostileRequest> list)
    {
        foreach (var odd in OddStrings)
        {
            var id = AttackerId();
            list.Add(Integration("unicode-room", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"joinroom\",\"room\":\"r{odd}\"}}}}"));
            list.Add(Integration("unicode-send-room", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"sendmessage\",\"room\":\"{odd}\",\"message\":1}}}}"));
            list.Add(Integration("unicode-message", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"message\":\"{odd}\"}}}}"));
            list.Add(Integration("unicode-string-body", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":\"{odd}\"}}"));
            list.Add(Integration("unicode-user", "/connect", $"{{\"connection_id\":\"{id}\",\"user\":\"{odd}\",\"user_agent\":\"{odd}\",\"source_ip\":\"{odd}\",\"request_id\":\"{odd}\"}}"));
            list.Add(Integration("unicode-rooms", "/connect", $"{{\"connection_id\":\"{id}\",\"rooms\":\"a,{odd},b\"}}"));
            list.Add(Integration("unicode-sendto-user", "/handle-event", $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"sendto\",\"user\":\"{odd}\",\"message\":1}}}}"));
            list.Add(Integration("unicode-reason", "/disconnect", $"{{\"connection_id\":\"{id}\",\"reason\":\"{odd}\",\"status_code\":\"{odd}\"}}"));
            list.Add(Integration("unicode-token", "/connect", $"{{\"connection_id\":\"{id}\",\"token\":\"{odd}\"}}"));
            list.Add(Integration("unicode-connected-at", "/connect", $"{{\"connection_id\":\"{id}\",\"connected_at\":\"{odd}\"}}"));
        }
    }

    private void Ids(List<HostileRequest> list)
    {
        foreach (var bad in BadIds)
        {
            foreach (var path in new[] { "/connect", "/handle-event", "/disconnect" })
            {
                list.Add(Integration("bad-id", path, $"{{\"connection_id\":\"{bad}\",\"body\":{{\"message\":1}}}}"));
            }
            list.Add(Integration("bad-sendto-id", "/handle-event", $"{{\"connection_id\":\"{AttackerId()}\",\"body\":{{\"action\":\"sendto\",\"connectionId\":\"{bad}\",\"message\":1}}}}"));
        }
        for (var i = 0; i < 60; i++)
        {
            var chars = Enumerable.Range(0, _random.Next(1, 40)).Select(_ => (char)_random.Next(0x20, 0x7f)).Where(c => c is not ('"' or '\\'));
            list.Add(Integration("random-id", IntegrationPath(), $"{{\"connection_id\":\"{new string([.. chars])}\",\"body\":{{\"message\":1}}}}"));
        }
    }

    private void MissingAndDuplicate(List<HostileRequest> list)
    {
        var id = AttackerId();
        string[] bodies =
        [
            "{}", "{\"body\":{\"message\":1}}", $"{{\"connection_id\":\"{id}\"}}", $"{{\"connection_id\":\"{id}\",\"body\":null}}",
            $"{{\"connection_id\":\"{id}\",\"connection_id\":\"{Pick(victimIds)}\"}}",
            $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"joinroom\",\"action\":\"leaveroom\",\"room\":\"x\"}}}}",
            $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"sendmessage\",\"room\":\"a\",\"room\":\"b\",\"message\":1}}}}",
            $"{{\"connection_id\":\"{id}\",\"body\":\"{{\\\"action\\\":\\\"joinroom\\\",\\\"room\\\":\\\"a\\\",\\\"room\\\":\\\"b\\\"}}\"}}",
            $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"sendto\",\"connectionId\":\"{Pick(victimIds)}\",\"user\":\"u\",\"message\":1}}}}",
            $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"sendto\"}}}}", $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"leaveroom\"}}}}",
            $"{{\"connection_id\":\"{id}\",\"body\":{{\"action\":\"sendmessage\"}}}}", $"{{\"connection_id\":\"{id}\",\"body\":{{}}}}",
            $"{{\"connection_id\":\"{id}\",\"body\":{{\"message\":1}},\"body\":{{\"message\":2}}}}", $"{{\"connection_id\":\"{id}\",\"rooms\":[\"a\",\"a\",\"a\"]}}",
            $"{{\"connection_id\":\"{id}\",\"token\":\"{validToken("mallory")}\",\"token\":\"x\"}}",
        ];
        foreach (var body in bodies)
        {
            foreach (var path in new[] { "/connect", "/handle-event", "/disconnect" }) list.Add(Integration("missing-or-duplicate", path, body));
        }
    }

    private void WrongMethodsAndContentTypes(List<HostileRequest> list)
    {
        foreach (var method in Methods)
        {
            foreach (var path in new[] { "/connect", "/handle-event", "/disconnect", "/api/rooms/lobby", "/api/connections/abc=" })
            {
                list.Add(Integration("wrong-method", path, $"{{\"connection_id\":\"{AttackerId()}\"}}", method));
            }
        }
        list.Add(Integration("wrong-method", "/connect", $"{{\"connection_id\":\"{AttackerId()}\"}}", "DELETE"));
        list.Add(Integration("wrong-method", "/handle-event", $"{{\"connection_id\":\"{AttackerId()}\"}}", "DELETE"));
        foreach (var type in ContentTypes)
        {
            foreach (var path in new[] { "/connect", "/handle-event", "/disconnect" })
            {
                list.Add(Integration("content-type", path, $"{{\"connection_id\":\"{AttackerId()}\",\"body\":{{\"message\":\"ct\"}}}}", contentType: type));
            }
        }
        list.Add(new HostileRequest("utf16-body", "POST", "/connect", Encoding.Unicode.GetBytes($"{{\"connection_id\":\"{AttackerId()}\"}}"), "application/json; charset=utf-16", WithSecret));
        list.Add(new HostileRequest("form-body", "POST", "/handle-event", Encoding.UTF8.GetBytes("connection_id=abc%3D&body=x"), "application/x-www-form-urlencoded", WithSecret));
        list.Add(new HostileRequest("no-body", "POST", "/connect", null, null, WithSecret));
        list.Add(new HostileRequest("no-body", "DELETE", "/disconnect", null, null, WithSecret));
        foreach (var path in new[] { "/unknown", "/connect/extra", "//connect", "/api", "/api/", "/api/rooms", "/api/rooms/", "/api/connections", "/%2e%2e/connect", "/health/../api/rooms/lobby", "/api/rooms/lobby/../../connect" })
        {
            list.Add(Integration("unknown-path", path, "{}"));
        }
    }

    /// <summary>Forged and broken end-user tokens on otherwise valid connects of the attacker's own ids.</summary>
    private void Tokens(List<HostileRequest> list)
    {
        var good = validToken("mallory");
        var parts = good.Split('.');
        string[] tokens =
        [
            "", "x", "a.b", "a.b.c", "a.b.c.d.e", "..", good + "x", good[..^2], $"{parts[0]}.{parts[1]}.",
            $"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{parts[1]}.", $"{parts[0]}.{Reverse(parts[1])}.{parts[2]}",
            $"{parts[0]}.eyJzdWIiOiJhZG1pbiIsInJvb21zIjpbIioiXX0.{parts[2]}", "Bearer ", "Bearer " + good + "!",
            $"{parts[0]}.{parts[1]}.{new string('A', parts[2].Length)}", "eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",
            "\\u0000", "💥.💥.💥",
        ];
        foreach (var token in tokens)
        {
            for (var i = 0; i < 3; i++)
            {
                list.Add(Integration("forged-token", "/connect", $"{{\"connection_id\":\"{AttackerId()}\",\"token\":\"{token}\",\"rooms\":[\"{Pick(victimRooms)}\"]}}"));
            }
        }
    }

    private static string Reverse(string text) => new([.. text.Reverse()]);

    private void Admin(List<HostileRequest> list)
    {
        (string, string)[][] badKeys =
        [
            [], [("Authorization", "Bearer")], [("Authorization", "Bearer ")], [("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("a:" + SecurityFixture.ApiKey)))],
            [("Authorization", "Bearer " + SecurityFixture.ApiKey[..^1])], [("X-Api-Key", SecurityFixture.ApiKey + "x")], [("X-Api-Key", "%20" + SecurityFixture.ApiKey)], [("X-Api-Key", SecurityFixture.Secret)],
            [("Authorization", "Bearer " + SecurityFixture.ApiKey.ToUpperInvariant())], [("X-Api-Key", "")], [("Authorization", SecurityFixture.ApiKey)],
        ];
        var routes = new List<(string Method, string Path, string? Body)>
        {
            ("GET", $"/api/connections/{Uri.EscapeDataString(Pick(victimIds))}", null),
            ("DELETE", $"/api/connections/{Uri.EscapeDataString(Pick(victimIds))}", null),
            ("POST", $"/api/connections/{Uri.EscapeDataString(Pick(victimIds))}/messages", "{\"message\":\"forged\"}"),
            ("POST", $"/api/rooms/{Pick(victimRooms)}/messages", "{\"message\":\"forged\"}"),
            ("GET", $"/api/rooms/{Pick(victimRooms)}/members", null),
            ("POST", "/api/users/victim/messages", "{\"message\":\"forged\"}"),
        };
        foreach (var keys in badKeys)
        {
            foreach (var (method, path, body) in routes)
            {
                list.Add(new HostileRequest("bad-api-key", method, path, body is null ? null : Encoding.UTF8.GetBytes(body), body is null ? null : "application/json", keys));
            }
        }

        (string, string)[] key = [("Authorization", "Bearer " + SecurityFixture.ApiKey)];
        string[] badRooms = ["%00", "a%2Fb", "..%2F..", "%20", "a%09b", "%E2%80%AE", "%ED%A0%80", "%C0%AF", new string('r', 300), "%FF", "a%00b", "%25"];
        foreach (var room in badRooms)
        {
            list.Add(new HostileRequest("admin-bad-room", "GET", $"/api/rooms/{room}", null, null, key));
            list.Add(new HostileRequest("admin-bad-room", "GET", $"/api/rooms/{room}/members", null, null, key));
            list.Add(new HostileRequest("admin-bad-room", "POST", $"/api/rooms/{room}/messages", Encoding.UTF8.GetBytes("{\"message\":1}"), "application/json", key));
        }
        foreach (var id in new[] { "..%2F..", "%2e%2e", "a%2Fb%2F..%2F..", "%00", "a%3Fb", "%25%32%46", new string('A', 200), "a.b", "%ED%A0%80" })
        {
            list.Add(new HostileRequest("admin-bad-id", "GET", $"/api/connections/{id}", null, null, key));
            list.Add(new HostileRequest("admin-bad-id", "DELETE", $"/api/connections/{id}", null, null, key));
            list.Add(new HostileRequest("admin-bad-id", "POST", $"/api/connections/{id}/messages", Encoding.UTF8.GetBytes("{\"message\":1}"), "application/json", key));
        }
        foreach (var user in new[] { "%00", "%01", "%ED%A0%80", new string('u', 300), "%20", "%20%09%20", "%E3%80%80" })
        {
            list.Add(new HostileRequest("admin-bad-user", "POST", $"/api/users/{user}/messages", Encoding.UTF8.GetBytes("{\"message\":1}"), "application/json", key));
        }
        foreach (var query in new[] { "limit=-1", "limit=0", "limit=abc", "limit=99999999999", "limit=1001", "after=%00", "after=" + new string('a', 5000), "limit=1&limit=2" })
        {
            list.Add(new HostileRequest("admin-bad-query", "GET", $"/api/rooms/team-evil/members?{query}", null, null, key));
        }
        foreach (var query in new[] { "wait=maybe", "wait=true&timeoutSeconds=1e308", "wait=true&timeoutSeconds=NaN", "wait=true&timeoutSeconds=-1", "wait=true&timeoutSeconds=Infinity", "wait=true&timeoutSeconds=abc", "wait=1" })
        {
            list.Add(new HostileRequest("admin-bad-query", "POST", $"/api/rooms/team-evil/messages?{query}", Encoding.UTF8.GetBytes("{\"message\":1}"), "application/json", key));
        }
        foreach (var body in BrokenJson.Concat(["{}", "{\"message\":" + new string('[', 1000) + "}", "{\"message\":\"" + new string('m', 200_000) + "\"}", "{\"message\":1,\"message\":2}", "{\"msg\":1}"]))
        {
            list.Add(new HostileRequest("admin-bad-body", "POST", "/api/rooms/team-evil/messages", Encoding.UTF8.GetBytes(body), Pick(["application/json", "text/plain"]), key));
            list.Add(new HostileRequest("admin-bad-body", "POST", "/api/users/evil/messages", Encoding.UTF8.GetBytes(body), "application/json", key));
        }
    }

    private void Shuffle(List<HostileRequest> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    public static string Describe(IEnumerable<HostileRequest> requests) =>
        string.Join(", ", requests.GroupBy(r => r.Kind).Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key}: {g.Count()}")));
}

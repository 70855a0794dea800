using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Tether.LocalGateway;

/// <summary>A credential pair the emulated Management API accepts.</summary>
public sealed record AcceptedCredential(string AccessKeyId, string SecretAccessKey);

/// <summary>The parts of an incoming request that SigV4 covers, exactly as they arrived on the wire.</summary>
public sealed record SignedRequest(
    string Method,
    string RawPath,
    string RawQuery,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body);

/// <summary>
/// Checks AWS Signature Version 4 the way API Gateway does, written independently of the SDK that signs: the
/// canonical URI is the path as sent, each segment URI-encoded once more (so <c>@</c> becomes <c>%40</c> and
/// <c>%3D</c> becomes <c>%253D</c>), and the payload hash must match the body.
/// </summary>
public sealed class SigV4Verifier(string region, string service, IReadOnlyList<AcceptedCredential> credentials, TimeProvider? time = null)
{
    private const string Algorithm = "AWS4-HMAC-SHA256";
    private static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(15);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Null when the signature is valid; otherwise the message API Gateway would answer with 403.</summary>
    public string? Verify(SignedRequest request)
    {
        if (!request.Headers.TryGetValue("authorization", out var authorization) || !authorization.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            return "Missing Authentication Token";
        }

        var fields = ParseAuthorization(authorization[(Algorithm.Length + 1)..]);
        if (!fields.TryGetValue("Credential", out var credential) || !fields.TryGetValue("SignedHeaders", out var signedHeaders) ||
            !fields.TryGetValue("Signature", out var signature))
        {
            return $"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization={authorization}";
        }

        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request")
        {
            return "Credential should be scoped to a valid region, service and 'aws4_request'.";
        }
        var (accessKeyId, date, scopeRegion, scopeService) = (scope[0], scope[1], scope[2], scope[3]);
        var secret = credentials.FirstOrDefault(c => c.AccessKeyId == accessKeyId)?.SecretAccessKey;
        if (secret is null) return "The security token included in the request is invalid.";
        if (scopeService != service) return $"Credential should be scoped to correct service: '{service}'.";
        if (scopeRegion != region) return $"Credential should be scoped to a valid region, not '{scopeRegion}'.";

        if (!request.Headers.TryGetValue("x-amz-date", out var amzDate) ||
            !DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var signedAt))
        {
            return "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
        }
        if (!amzDate.StartsWith(date, StringComparison.Ordinal)) return "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.";
        if ((_time.GetUtcNow() - signedAt).Duration() > AllowedSkew) return "Signature expired: the request time is more than 15 minutes away from the server time.";

        var headerNames = signedHeaders.Split(';');
        if (!headerNames.Contains("host")) return "'Host' must be a signed header.";
        if (headerNames.Any(h => !request.Headers.ContainsKey(h))) return "A signed header is missing from the request.";

        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(request.Body));
        if (request.Headers.TryGetValue("x-amz-content-sha256", out var claimedHash) && claimedHash != bodyHash)
        {
            return "The provided 'x-amz-content-sha256' header does not match what was computed.";
        }

        var expected = ComputeSignature(request, headerNames, bodyHash, amzDate, date, secret);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature))
            ? null
            : "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
    }

    /// <summary>The signature for a request (lower-case hex).</summary>
    public string ComputeSignature(SignedRequest request, IReadOnlyList<string> signedHeaders, string payloadHash, string amzDate, string date, string secret)
    {
        var canonical = new StringBuilder()
            .Append(request.Method).Append('\n')
            .Append(CanonicalUri(request.RawPath)).Append('\n')
            .Append(CanonicalQuery(request.RawQuery)).Append('\n');
        foreach (var name in signedHeaders)
        {
            canonical.Append(name).Append(':').Append(CollapseSpaces(request.Headers[name])).Append('\n');
        }
        canonical.Append('\n').Append(string.Join(';', signedHeaders)).Append('\n').Append(payloadHash);

        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";

        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        return Convert.ToHexStringLower(Hmac(key, stringToSign));
    }

    /// <summary>Each segment of the path as received is URI-encoded once more (RFC 3986 unreserved characters stay).</summary>
    public static string CanonicalUri(string rawPath) =>
        rawPath.Length == 0 ? "/" : string.Join('/', rawPath.Split('/').Select(UriEncode));

    private static string CanonicalQuery(string rawQuery)
    {
        if (string.IsNullOrEmpty(rawQuery)) return "";
        return string.Join('&', rawQuery.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                var at = pair.IndexOf('=');
                var name = Uri.UnescapeDataString(at < 0 ? pair : pair[..at]);
                var value = at < 0 ? "" : Uri.UnescapeDataString(pair[(at + 1)..]);
                return (Name: UriEncode(name), Value: UriEncode(value));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Name + "=" + p.Value));
    }

    private static string UriEncode(string value)
    {
        var builder = new StringBuilder(value.Length * 2);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~') builder.Append(c);
            else builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }

    private static string CollapseSpaces(string value) => string.Join(' ', value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static Dictionary<string, string> ParseAuthorization(string parameters) =>
        parameters.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First()[1], StringComparer.Ordinal);

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tether.Contracts;

namespace Tether.Api.Security;

/// <summary>
/// End-user tokens checked at <c>$connect</c> (configuration section <c>Jwt</c>). Configuring any signing key turns
/// the check on: from then on <c>/connect</c> requires a valid JWT in <c>token</c>.
/// </summary>
public sealed class JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>Accepted <c>iss</c> values (at least one when tokens are checked).</summary>
    public List<string> Issuers { get; set; } = [];

    /// <summary>Accepted <c>aud</c> values (at least one when tokens are checked).</summary>
    public List<string> Audiences { get; set; } = [];

    /// <summary>HMAC keys, base64 or base64url, at least 32 bytes each.</summary>
    public List<string> SymmetricKeys { get; set; } = [];

    /// <summary>RSA or EC public keys in PEM (<c>-----BEGIN PUBLIC KEY-----</c>), inline.</summary>
    public List<string> PublicKeys { get; set; } = [];

    /// <summary>Files holding one RSA or EC public key in PEM each.</summary>
    public List<string> PublicKeyFiles { get; set; } = [];

    /// <summary>A JWKS document inline (<c>{"keys":[…]}</c>), as an identity provider publishes it.</summary>
    public string? Jwks { get; set; }

    /// <summary>A file holding a JWKS document (e.g. a copy of the provider's <c>jwks_uri</c>, refreshed by deployment).</summary>
    public string? JwksFile { get; set; }

    /// <summary>Accepted <c>alg</c> values; empty: the algorithms that fit the configured keys. <c>none</c> is never accepted.</summary>
    public List<string> Algorithms { get; set; } = [];

    /// <summary>Tolerance for clocks that disagree on <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The claim that holds the user id; the template's <c>user</c> field is ignored when tokens are checked.</summary>
    public string UserClaim { get; set; } = "sub";

    /// <summary>
    /// The claim that lists the rooms a user may join and send to (names or <c>*</c> patterns such as <c>team-*</c>;
    /// a JSON array or a space- or comma-separated string). Unset: tokens do not restrict rooms. Set: a token without
    /// the claim allows no named room (the default room stays allowed).
    /// </summary>
    public string? RoomsClaim { get; set; }

    /// <summary>Longest token accepted, in characters.</summary>
    public int MaxTokenLength { get; set; } = 8192;

    public bool Enabled =>
        SymmetricKeys.Any(k => !string.IsNullOrWhiteSpace(k)) || PublicKeys.Any(k => !string.IsNullOrWhiteSpace(k)) ||
        PublicKeyFiles.Any(k => !string.IsNullOrWhiteSpace(k)) || !string.IsNullOrWhiteSpace(Jwks) || !string.IsNullOrWhiteSpace(JwksFile);
}

/// <summary>The outcome of checking a <c>$connect</c> token.</summary>
internal sealed record TokenCheck(string? User, IReadOnlyList<string>? AllowedRooms, string? ErrorCode = null, string? ErrorMessage = null, string? ClaimsJson = null)
{
    public bool Accepted => ErrorCode is null;
}

/// <summary>
/// Validates end-user JWTs with Microsoft.IdentityModel: signature against the configured keys, issuer, audience,
/// lifetime (with a small clock skew) and an algorithm allow-list. Built once at start; a key that does not load
/// stops the start with a message that names the setting, never the key.
/// </summary>
internal sealed class UserTokenValidator
{
    private static readonly string[] HmacAlgorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512];
    private static readonly string[] RsaAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];
    private static readonly string[] EcAlgorithms = [SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512];

    private readonly JwtOptions _options;
    private readonly JsonWebTokenHandler _handler;
    private readonly TokenValidationParameters? _parameters;

    public UserTokenValidator(IOptions<JwtOptions> options)
    {
        _options = options.Value;
        _handler = new JsonWebTokenHandler { MaximumTokenSizeInBytes = Math.Max(1024, _options.MaxTokenLength * 2) };
        if (!_options.Enabled) return;

        var keys = LoadKeys(_options);
        var algorithms = _options.Algorithms.Where(a => !string.IsNullOrWhiteSpace(a)).ToList();
        if (algorithms.Count == 0)
        {
            if (keys.Any(k => k is SymmetricSecurityKey)) algorithms.AddRange(HmacAlgorithms);
            if (keys.Any(k => k is RsaSecurityKey || (k is JsonWebKey j && j.Kty == JsonWebAlgorithmsKeyTypes.RSA))) algorithms.AddRange(RsaAlgorithms);
            if (keys.Any(k => k is ECDsaSecurityKey || (k is JsonWebKey j && j.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve))) algorithms.AddRange(EcAlgorithms);
        }
        _parameters = new TokenValidationParameters
        {
            ValidIssuers = _options.Issuers,
            ValidAudiences = _options.Audiences,
            IssuerSigningKeys = keys,
            ValidAlgorithms = algorithms,
            ClockSkew = _options.ClockSkew,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            RequireAudience = true,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            // Tokens without a "kid" (common with a single configured PEM key) are tried against every key.
            TryAllIssuerSigningKeys = true,
        };
    }

    public bool Enabled => _parameters is not null;

    public async Task<TokenCheck> CheckAsync(string? token)
    {
        if (_parameters is null) return new TokenCheck(null, null);
        if (string.IsNullOrWhiteSpace(token)) return Refuse("missing_token", "A token is required: pass it in the connect URL's query string so the $connect template can forward it.");
        if (token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) token = token["Bearer ".Length..].Trim();
        if (token.Length > _options.MaxTokenLength) return Refuse("invalid_token", "The token is too long.");

        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(token, _parameters);
        }
        catch (ArgumentException)
        {
            return Refuse("invalid_token", "The token is malformed.");
        }
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return Refuse("invalid_token", "The token was refused: " + Reason(result.Exception));
        }

        var users = jwt.Claims.Where(c => c.Type == _options.UserClaim).Select(c => c.Value).ToList();
        if (users.Count != 1 || !UserIds.IsValid(users[0]))
        {
            return Refuse("invalid_token", $"The token needs exactly one \"{_options.UserClaim}\" claim holding a user id (1 to {UserIds.MaxLength} characters, not only white space, no control characters).");
        }

        IReadOnlyList<string>? rooms = null;
        if (!string.IsNullOrEmpty(_options.RoomsClaim))
        {
            var patterns = jwt.Claims.Where(c => c.Type == _options.RoomsClaim)
                .SelectMany(c => c.Value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            if (patterns.Count > RoomPatterns.MaxPatterns || !patterns.All(RoomPatterns.IsValidPattern))
            {
                return Refuse("invalid_token", $"The \"{_options.RoomsClaim}\" claim must hold at most {RoomPatterns.MaxPatterns} room names or patterns.");
            }
            rooms = patterns;
        }
        // The token's claims as they were signed, for the connect hook.
        return new TokenCheck(users[0], rooms, ClaimsJson: Base64UrlEncoder.Decode(jwt.EncodedPayload));
    }

    private static TokenCheck Refuse(string code, string message) => new(null, null, code, message);

    /// <summary>The kind of failure, never the token or the library's message (which may quote token contents).</summary>
    private static string Reason(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "it has expired.",
        SecurityTokenNotYetValidException => "it is not valid yet.",
        SecurityTokenNoExpirationException => "it has no expiry (exp).",
        SecurityTokenInvalidIssuerException => "its issuer is not accepted.",
        SecurityTokenInvalidAudienceException => "its audience is not accepted.",
        SecurityTokenInvalidAlgorithmException => "its signing algorithm is not accepted.",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "its signature does not verify.",
        SecurityTokenMalformedException => "it is malformed.",
        _ => "it is not a valid token.",
    };

    private static List<SecurityKey> LoadKeys(JwtOptions options)
    {
        var keys = new List<SecurityKey>();
        foreach (var (text, i) in options.SymmetricKeys.Select((k, i) => (k, i)).Where(p => !string.IsNullOrWhiteSpace(p.k)))
        {
            var bytes = DecodeBase64(text.Trim())
                ?? throw new InvalidOperationException($"Jwt__SymmetricKeys__{i} is not base64 or base64url.");
            if (bytes.Length < 32) throw new InvalidOperationException($"Jwt__SymmetricKeys__{i} is shorter than 32 bytes; HMAC keys that short can be guessed.");
            keys.Add(new SymmetricSecurityKey(bytes));
        }
        foreach (var (pem, i) in options.PublicKeys.Select((k, i) => (k, i)).Where(p => !string.IsNullOrWhiteSpace(p.k)))
        {
            keys.Add(FromPem(pem, $"Jwt__PublicKeys__{i}"));
        }
        foreach (var (path, i) in options.PublicKeyFiles.Select((k, i) => (k, i)).Where(p => !string.IsNullOrWhiteSpace(p.k)))
        {
            keys.Add(FromPem(ReadFile(path, $"Jwt__PublicKeyFiles__{i}"), $"Jwt__PublicKeyFiles__{i} ({path})"));
        }
        if (!string.IsNullOrWhiteSpace(options.Jwks)) keys.AddRange(FromJwks(options.Jwks, "Jwt__Jwks"));
        if (!string.IsNullOrWhiteSpace(options.JwksFile)) keys.AddRange(FromJwks(ReadFile(options.JwksFile, "Jwt__JwksFile"), $"Jwt__JwksFile ({options.JwksFile})"));
        return keys;
    }

    private static SecurityKey FromPem(string pem, string setting)
    {
        // The PEM label says which kind of key it is for SPKI "PUBLIC KEY" only through its OID, so try both.
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            if (rsa.KeySize < 2048) throw new InvalidOperationException($"{setting} is an RSA key under 2048 bits.");
            return new RsaSecurityKey(rsa);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
        }
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return new ECDsaSecurityKey(ec);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            ec.Dispose();
            throw new InvalidOperationException($"{setting} is not an RSA or EC key in PEM (-----BEGIN PUBLIC KEY-----).");
        }
    }

    private static IList<SecurityKey> FromJwks(string json, string setting)
    {
        try
        {
            var keys = new JsonWebKeySet(json).GetSigningKeys();
            if (keys.Count == 0) throw new InvalidOperationException($"{setting} holds no usable signing key.");
            return keys;
        }
        catch (ArgumentException)
        {
            throw new InvalidOperationException($"{setting} is not a JWKS document ({{\"keys\":[…]}}).");
        }
    }

    private static string ReadFile(string path, string setting)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{setting}: cannot read '{path}' ({e.GetType().Name}).");
        }
    }

    private static byte[]? DecodeBase64(string text)
    {
        var normal = text.Replace('-', '+').Replace('_', '/');
        normal = normal.PadRight(normal.Length + ((4 - (normal.Length % 4)) % 4), '=');
        var buffer = new byte[normal.Length];
        return Convert.TryFromBase64String(normal, buffer, out var written) ? buffer[..written] : null;
    }
}

/// <summary>Refuses to start with token settings that cannot work.</summary>
internal sealed class JwtOptionsValidator : IValidateOptions<JwtOptions>
{
    public ValidateOptionsResult Validate(string? name, JwtOptions options)
    {
        var configuredAnything = options.Issuers.Any(i => !string.IsNullOrWhiteSpace(i)) ||
            options.Audiences.Any(a => !string.IsNullOrWhiteSpace(a)) || !string.IsNullOrEmpty(options.RoomsClaim);
        if (!options.Enabled)
        {
            return configuredAnything
                ? ValidateOptionsResult.Fail("Jwt__Issuers, Jwt__Audiences or Jwt__RoomsClaim is set but no signing key is: set Jwt__SymmetricKeys, Jwt__PublicKeys, Jwt__PublicKeyFiles, Jwt__Jwks or Jwt__JwksFile.")
                : ValidateOptionsResult.Success;
        }
        var problems = new List<string>();
        if (!options.Issuers.Any(i => !string.IsNullOrWhiteSpace(i))) problems.Add("Jwt__Issuers needs at least one accepted issuer.");
        if (!options.Audiences.Any(a => !string.IsNullOrWhiteSpace(a))) problems.Add("Jwt__Audiences needs at least one accepted audience.");
        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5)) problems.Add("Jwt__ClockSkew must be 0 to 5 minutes.");
        if (string.IsNullOrWhiteSpace(options.UserClaim)) problems.Add("Jwt__UserClaim must name a claim.");
        if (options.MaxTokenLength is < 256 or > 65536) problems.Add("Jwt__MaxTokenLength must be 256 to 65536.");
        if (options.Algorithms.Any(a => string.Equals(a, "none", StringComparison.OrdinalIgnoreCase))) problems.Add("Jwt__Algorithms must not contain 'none'.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

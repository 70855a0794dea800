using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tether.Delivery;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>
/// The real API on Kestrel with everything security-related switched on: two integration secrets (rotation), end-user JWTs
/// with an HMAC key, an RSA PEM key and an EC key in a JWKS, a rooms claim, two API keys, and every log entry
/// captured. Subclasses change settings.
/// </summary>
public class SecurityFixture : IAsyncLifetime
{
    public const string OldSecret = "gateway-secret-being-rotated-out-0001";
    public const string Secret = "gateway-secret-current-7f3a9c2e5b8d";
    public const string SecretHeader = "X-Gateway-Secret";
    public const string ApiKey = "admin-api-key-current-5d2c8e1f9a";
    public const string OldApiKey = "admin-api-key-old-rotating-3b7e";
    public const string Issuer = "https://issuer.tether.test";
    public const string Audience = "tether-clients";
    public const string HmacKeyBase64 = "c2VjdXJpdHktdGVzdHMtaG1hYy1rZXktb2YtMzItYnl0ZXMtb3ItbW9yZS0wMTIzNDU2Nzg5";

    private static readonly string[] LogCategories = ["Default", "Microsoft.AspNetCore", "Orleans", "Microsoft.Orleans", "Polly"];
    private readonly System.Collections.Concurrent.ConcurrentBag<string> _tokens = [];

    public InMemoryConnections Connections { get; } = new();
    public ManagementApiEmulatorHost Gateway { get; private set; } = null!;
    public WebApplicationFactory<Program> Factory { get; private set; } = null!;
    public CapturedLogs Logs { get; } = new();
    public RSA Rsa { get; } = RSA.Create(2048);
    public ECDsa Ec { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>Every token handed out by <see cref="Token"/>, so the log test can look for each.</summary>
    public IReadOnlyCollection<string> IssuedTokens => [.. _tokens];

    public static SymmetricSecurityKey HmacKey => new(Convert.FromBase64String(HmacKeyBase64));

    protected virtual IEnumerable<KeyValuePair<string, string>> Settings()
    {
        yield return new("Integration:Secrets:0", OldSecret);
        yield return new("Integration:Secrets:1", Secret);
        yield return new("Admin:ApiKeys:0", OldApiKey);
        yield return new("Admin:ApiKeys:1", ApiKey);
        yield return new("Jwt:Issuers:0", Issuer);
        yield return new("Jwt:Audiences:0", Audience);
        yield return new("Jwt:SymmetricKeys:0", HmacKeyBase64);
        yield return new("Jwt:PublicKeys:0", Rsa.ExportSubjectPublicKeyInfoPem());
        yield return new("Jwt:Jwks", Jwks());
        yield return new("Jwt:RoomsClaim", "rooms");
    }

    public async Task InitializeAsync()
    {
        Gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), Connections);
        var siloPort = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        var gatewayPort = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("ManagementApi:Endpoint", Gateway.ConnectionUrl.ToString());
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("ManagementApi:RetryBaseDelay", "00:00:00.005");
            web.UseSetting("Orleans:Endpoints:SiloPort", siloPort);
            web.UseSetting("Orleans:Endpoints:GatewayPort", gatewayPort);
            // On Kestrel the embedded local gateway would start on its fixed port 8080 in every fixture at once.
            web.UseSetting("LocalGateway:Enabled", "false");
            web.UseSetting("Connections:ConnectGracePeriod", "00:00:00");
            // Everything at Debug, so the log test sees what a verbose production configuration would write.
            foreach (var category in LogCategories)
            {
                web.UseSetting($"Logging:LogLevel:{category}", "Debug");
            }
            foreach (var (key, value) in Settings()) web.UseSetting(key, value);
            web.ConfigureLogging(logging => logging.AddProvider(Logs));
        });
        // Real Kestrel on loopback rather than the in-memory test server: hostile requests meet the same HTTP parsing
        // (paths, headers, body sizes) they would in production.
        Factory.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        Factory.StartServer();
        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Gateway.DisposeAsync();
        Rsa.Dispose();
        Ec.Dispose();
    }

    /// <summary>Waits until no room holds presence notices for its window, then until the dispatcher is idle.</summary>
    public async Task DrainAsync()
    {
        await Factory.Services.GetRequiredService<Grains.PresenceBacklog>().WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await Factory.Services.GetRequiredService<DeliveryDispatcher>().WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>A client that sends the current integration secret on every request.</summary>
    public HttpClient Integration(string? secret = Secret)
    {
        var http = Factory.CreateClient();
        if (secret is not null) http.DefaultRequestHeaders.TryAddWithoutValidation(SecretHeader, secret);
        return http;
    }

    /// <summary>A client for <c>/api</c> with the current API key.</summary>
    public HttpClient Admin(string key = ApiKey)
    {
        var http = Factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    public static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..15] + "=";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A token signed with <paramref name="credentials"/> (default: the HMAC key).</summary>
    public string Token(
        string? subject = "alice", IEnumerable<string>? rooms = null, SigningCredentials? credentials = null,
        string issuer = Issuer, string audience = Audience, DateTime? expires = null, DateTime? notBefore = null,
        IDictionary<string, object>? extraClaims = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>(extraClaims ?? new Dictionary<string, object>());
        if (subject is not null) claims["sub"] = subject;
        if (rooms is not null) claims["rooms"] = rooms.ToArray();
        var nbf = notBefore ?? now.AddMinutes(-5);
        var exp = expires ?? now.AddMinutes(10);
        var token = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            NotBefore = nbf < exp ? nbf : exp.AddMinutes(-1),
            IssuedAt = nbf < exp ? nbf : exp.AddMinutes(-1),
            Expires = exp,
            Claims = claims,
            SigningCredentials = credentials ?? new SigningCredentials(HmacKey, SecurityAlgorithms.HmacSha256),
        });
        _tokens.Add(token);
        return token;
    }

    private string Jwks()
    {
        var p = Ec.ExportParameters(includePrivateParameters: false);
        return $$"""{"keys":[{"kty":"EC","crv":"P-256","kid":"ec-1","use":"sig","alg":"ES256","x":"{{Base64UrlEncoder.Encode(p.Q.X)}}","y":"{{Base64UrlEncoder.Encode(p.Q.Y)}}"}]}""";
    }
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tether.LocalGateway;
using Tether.Delivery;
using Amazon.Runtime;

namespace Tether.Tests.Management;

/// <summary>A fixed request signed with AWS's documentation example key: one known signature, computed by two independent signers, our client (AWSSDK.Core) and our verifier.</summary>
public class SigV4KnownAnswerTests
{
    private const string ExpectedSignature = "69850a79db1055c13a5deea6119519a319cb132cfa7c90db638e20d042daf128";
    private const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"msg\":\"hi\"}");

    [Fact]
    public async Task Client_signs_the_known_answer()
    {
        using var client = new ManagementApiClient(
            new Uri("https://abc123.execute-api.us-east-1.amazonaws.com/prod"), "us-east-1",
            new BasicAWSCredentials("AKIDEXAMPLE", Secret), new ManagementApiOptions(), NullLogger<ManagementApiClient>.Instance);

        var uri = client.ConnectionUri("test=");
        Assert.Equal("/prod/@connections/test%3D", uri.AbsolutePath);

        using var request = await client.CreateSignedRequestAsync(HttpMethod.Post, uri, Body,
            Convert.ToHexStringLower(SHA256.HashData(Body)), CancellationToken.None, new DateTime(2015, 8, 30, 12, 36, 0, DateTimeKind.Utc));

        var authorization = request.Headers.GetValues("Authorization").Single();
        Assert.Contains("Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request", authorization, StringComparison.Ordinal);
        Assert.Contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date", authorization, StringComparison.Ordinal);
        Assert.Contains("Signature=" + ExpectedSignature, authorization, StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_computes_the_known_answer()
    {
        var verifier = new SigV4Verifier("us-east-1", "execute-api", [new AcceptedCredential("AKIDEXAMPLE", Secret)]);
        var headers = new Dictionary<string, string>
        {
            ["content-type"] = "application/json",
            ["host"] = "abc123.execute-api.us-east-1.amazonaws.com",
            ["x-amz-content-sha256"] = Convert.ToHexStringLower(SHA256.HashData(Body)),
            ["x-amz-date"] = "20150830T123600Z",
        };
        var request = new SignedRequest("POST", "/prod/@connections/test%3D", "", headers, Body);

        var signature = verifier.ComputeSignature(request, ["content-type", "host", "x-amz-content-sha256", "x-amz-date"],
            headers["x-amz-content-sha256"], "20150830T123600Z", "20150830", Secret);

        Assert.Equal(ExpectedSignature, signature);
        Assert.Equal("/prod/%40connections/test%253D", SigV4Verifier.CanonicalUri("/prod/@connections/test%3D"));
    }

    /// <summary>
    /// Connection ids hold <c>/</c>, <c>+</c> and <c>=</c>, which SigV4 encodes twice in the canonical URI. The expected
    /// signatures were computed by botocore 1.43 (<c>SigV4Auth(credentials, "execute-api", "us-east-1")</c> over the same
    /// request at 2015-08-30T12:36:00Z), an implementation independent of both of ours; it also reproduces the one above.
    /// </summary>
    [Theory]
    [InlineData("a/b+c=", "/prod/@connections/a%2Fb%2Bc%3D", "/prod/%40connections/a%252Fb%252Bc%253D",
        "9d51a26d8586dabb813937ff13c5d2dfd168b071b946ff8ff57c11fdce5d538c")]
    [InlineData("L0SM9cOF+vHcCIhw=", "/prod/@connections/L0SM9cOF%2BvHcCIhw%3D", "/prod/%40connections/L0SM9cOF%252BvHcCIhw%253D",
        "e00388d12270fd1e355042727e57e7a3924a6e89b14069c123585b3c4bd0b2fd")]
    public async Task Ids_with_slash_and_plus_sign_as_botocore_signs_them(string connectionId, string path, string canonicalUri, string botocoreSignature)
    {
        using var client = new ManagementApiClient(
            new Uri("https://abc123.execute-api.us-east-1.amazonaws.com/prod"), "us-east-1",
            new BasicAWSCredentials("AKIDEXAMPLE", Secret), new ManagementApiOptions(), NullLogger<ManagementApiClient>.Instance);
        var uri = client.ConnectionUri(connectionId);
        Assert.Equal(path, uri.AbsolutePath);

        using var request = await client.CreateSignedRequestAsync(HttpMethod.Post, uri, Body,
            Convert.ToHexStringLower(SHA256.HashData(Body)), CancellationToken.None, new DateTime(2015, 8, 30, 12, 36, 0, DateTimeKind.Utc));
        Assert.Contains("Signature=" + botocoreSignature, request.Headers.GetValues("Authorization").Single(), StringComparison.Ordinal);

        var verifier = new SigV4Verifier("us-east-1", "execute-api", [new AcceptedCredential("AKIDEXAMPLE", Secret)]);
        var headers = new Dictionary<string, string>
        {
            ["content-type"] = "application/json",
            ["host"] = "abc123.execute-api.us-east-1.amazonaws.com",
            ["x-amz-content-sha256"] = Convert.ToHexStringLower(SHA256.HashData(Body)),
            ["x-amz-date"] = "20150830T123600Z",
        };
        var signature = verifier.ComputeSignature(new SignedRequest("POST", path, "", headers, Body),
            ["content-type", "host", "x-amz-content-sha256", "x-amz-date"], headers["x-amz-content-sha256"], "20150830T123600Z", "20150830", Secret);
        Assert.Equal(botocoreSignature, signature);
        Assert.Equal(canonicalUri, SigV4Verifier.CanonicalUri(path));
    }

    [Fact]
    public void Verifier_refuses_a_stale_or_tampered_request()
    {
        var verifier = new SigV4Verifier("us-east-1", "execute-api", [new AcceptedCredential("AKIDEXAMPLE", Secret)]);
        var headers = new Dictionary<string, string>
        {
            ["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request, " +
                                "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=" + ExpectedSignature,
            ["content-type"] = "application/json",
            ["host"] = "abc123.execute-api.us-east-1.amazonaws.com",
            ["x-amz-content-sha256"] = Convert.ToHexStringLower(SHA256.HashData(Body)),
            ["x-amz-date"] = "20150830T123600Z",
        };

        // Correctly signed, but in 2015: API Gateway refuses signatures more than 15 minutes off.
        Assert.StartsWith("Signature expired", verifier.Verify(new SignedRequest("POST", "/prod/@connections/test%3D", "", headers, Body)), StringComparison.Ordinal);

        var then = new SigV4Verifier("us-east-1", "execute-api", [new AcceptedCredential("AKIDEXAMPLE", Secret)],
            new FixedTime(new DateTimeOffset(2015, 8, 30, 12, 40, 0, TimeSpan.Zero)));
        Assert.Null(then.Verify(new SignedRequest("POST", "/prod/@connections/test%3D", "", headers, Body)));
        // A body that does not match the signed hash.
        Assert.Contains("x-amz-content-sha256", then.Verify(new SignedRequest("POST", "/prod/@connections/test%3D", "", headers, [1, 2, 3])), StringComparison.Ordinal);
        // The same signature for another connection: the path is covered.
        Assert.Contains("signature we calculated does not match", then.Verify(new SignedRequest("POST", "/prod/@connections/other%3D", "", headers, Body)), StringComparison.Ordinal);
        // An '@' that is not encoded the AWS way on our side would sign a different path.
        Assert.Contains("signature we calculated does not match", then.Verify(new SignedRequest("POST", "/prod/%40connections/test%3D", "", headers, Body)), StringComparison.Ordinal);
    }
}

internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

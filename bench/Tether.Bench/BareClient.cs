using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;

namespace Tether.Bench;

/// <summary>
/// The bare limit: the least a backend must do per recipient — sign one SigV4 POST and send it — with no Orleans,
/// no retries, no bookkeeping; <c>concurrency</c> workers over one pooled <see cref="HttpClient"/>.
/// </summary>
internal static class BareClient
{
    // One client for the whole run, like a backend's: its connections stay open between runs, so every run after the
    // warm-up measures the steady state, as ours does.
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });

    public static async Task<TimeSpan> PostAllAsync(
        Uri connectionUrl, IReadOnlyList<string> connectionIds, byte[] payload, int concurrency, AWSCredentials credentials)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(payload));
        var prefix = connectionUrl.ToString().TrimEnd('/') + "/@connections/";
        var next = -1;
        var failures = 0;

        async Task WorkAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < connectionIds.Count)
            {
                var uri = new Uri(prefix + Uri.EscapeDataString(connectionIds[i]));
                using var response = await SignedPostAsync(uri, payload, sha, credentials);
                if (!response.IsSuccessStatusCode) Interlocked.Increment(ref failures);
            }
        }

        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkAsync)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (failures > 0) throw new InvalidOperationException($"bare client: {failures} posts were not answered 2xx");
        return elapsed;
    }

    /// <summary>One SigV4-signed POST of <paramref name="payload"/> (whose SHA-256 is <paramref name="sha"/>) to <paramref name="uri"/>.</summary>
    public static async Task<HttpResponseMessage> SignedPostAsync(Uri uri, byte[] payload, string sha, AWSCredentials credentials)
    {
        var signing = new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = uri };
        signing.Headers["x-amz-content-sha256"] = sha;
        signing.Headers["content-type"] = "application/json";
        var signed = await AWSSigV4Signer.SignAsync(signing, new AWSSigV4Parameters
        {
            Credentials = credentials, Region = RegionEndpoint.USEast1, Service = "execute-api", SignPayload = true,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in signed.Headers)
        {
            if (!name.Equals("content-type", StringComparison.OrdinalIgnoreCase) && !name.Equals("host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }
        return await Http.SendAsync(request);
    }
}

using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Tether.Bench;

/// <summary>Drives a backend's integration endpoints the way API Gateway's request templates would.</summary>
internal sealed class IntegrationDriver(Uri baseAddress, string? secret) : IDisposable
{
    public const string SecretHeader = "X-Gateway-Secret";

    private readonly HttpClient _http = new(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = 64 })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(60),
    };

    public Uri BaseAddress => baseAddress;

    /// <summary>Connects every id (into <paramref name="roomOf"/>'s room when given) with bounded parallelism.</summary>
    public async Task ConnectAllAsync(IReadOnlyList<string> ids, Func<int, string?> roomOf, int parallelism = 32)
    {
        var next = -1;
        async Task WorkAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < ids.Count)
            {
                var room = roomOf(i);
                object body = room is null ? new { connection_id = ids[i] } : new { connection_id = ids[i], rooms = new[] { room } };
                await PostAsync("/connect", body);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, parallelism).Select(_ => WorkAsync()));
    }

    public Task PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, JsonSerializer.Serialize(body));

    public async Task SendAsync(HttpMethod method, string path, string json)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (secret is not null) request.Headers.Add(SecretHeader, secret);
        using var response = await _http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"{method} {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async Task<JsonElement> GetJsonAsync(string path, string apiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Api-Key", apiKey);
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Connection ids shaped like API Gateway's (16 base64 characters, one trailing '=').</summary>
internal static class ConnectionIdMaker
{
    public static string[] Make(string prefix, int count)
    {
        var ids = new string[count];
        Span<byte> bytes = stackalloc byte[11];
        var salt = 2166136261u;
        foreach (var c in prefix) salt = (salt ^ c) * 16777619u;
        for (var i = 0; i < count; i++)
        {
            BitConverter.TryWriteBytes(bytes, salt);
            BitConverter.TryWriteBytes(bytes[4..], i);
            bytes[8] = (byte)prefix.Length;
            bytes[9] = (byte)(prefix.Length > 0 ? prefix[0] : 0);
            bytes[10] = (byte)(i >> 24 ^ 0x5A);
            ids[i] = Convert.ToBase64String(bytes).Replace('/', '_').Replace('+', '-');
        }
        return ids;
    }
}

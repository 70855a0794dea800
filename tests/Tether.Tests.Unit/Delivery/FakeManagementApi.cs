using System.Collections.Concurrent;
using System.Text;

namespace Tether.Tests.Delivery;

/// <summary>A Management API that answers each post with the status <c>answer</c> gives, and keeps what it was sent.</summary>
internal sealed class FakeManagementApi(Func<string, string, Task<int>> answer, TimeSpan? retryAfter = null) : IManagementApiClient
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _bodies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _delivered = new(StringComparer.Ordinal);

    public Uri Endpoint { get; } = new("http://127.0.0.1:9/test");

    public IReadOnlyList<string> Bodies(string connectionId) => _bodies.TryGetValue(connectionId, out var b) ? [.. b] : [];

    public int Delivered(string connectionId) => _delivered.GetValueOrDefault(connectionId);

    public async Task<ManagementResult> PostAsync(string connectionId, ReadOnlyMemory<byte> payload, string payloadSha256, CancellationToken cancellationToken = default)
    {
        var body = Encoding.UTF8.GetString(payload.Span);
        _bodies.GetOrAdd(connectionId, _ => new()).Enqueue(body);
        var status = await answer(connectionId, body);
        if (status == 200)
        {
            _delivered.AddOrUpdate(connectionId, 1, (_, n) => n + 1);
            return new ManagementResult(ManagementOutcome.Delivered, 200, null, null, 1);
        }
        return new ManagementResult(ManagementOutcome.Throttled, status, "LimitExceededException", null, 1, retryAfter);
    }

    public Task<(ManagementResult Result, RemoteConnectionInfo? Info)> GetAsync(string connectionId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<ManagementResult> DeleteAsync(string connectionId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();
}

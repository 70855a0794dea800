namespace Tether.Grains;

/// <summary>API Gateway's Management API for one connection URL (PostToConnection, GetConnection, DeleteConnection).</summary>
public interface IManagementApiClient
{
    /// <summary>The connection URL messages are posted to (without <c>/@connections</c>).</summary>
    Uri Endpoint { get; }

    /// <summary>Posts raw bytes to a connection; <paramref name="payloadSha256"/> is the payload's SHA-256 in lower-case hex.</summary>
    Task<ManagementResult> PostAsync(string connectionId, ReadOnlyMemory<byte> payload, string payloadSha256, CancellationToken cancellationToken = default);

    /// <summary>
    /// Posts like <see cref="PostAsync"/>, except that a 429 is answered at once (with its <c>Retry-After</c>) rather
    /// than retried: the dispatcher paces its own retry against the post budget. A client without its own retries
    /// posts the same way in both.
    /// </summary>
    Task<ManagementResult> PostOnceIfThrottledAsync(string connectionId, ReadOnlyMemory<byte> payload, string payloadSha256, CancellationToken cancellationToken = default) =>
        PostAsync(connectionId, payload, payloadSha256, cancellationToken);

    Task<(ManagementResult Result, RemoteConnectionInfo? Info)> GetAsync(string connectionId, CancellationToken cancellationToken = default);

    /// <summary>Closes the client's socket at API Gateway.</summary>
    Task<ManagementResult> DeleteAsync(string connectionId, CancellationToken cancellationToken = default);
}

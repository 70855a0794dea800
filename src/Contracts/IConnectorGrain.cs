namespace Tether.Contracts;

/// <summary>
/// <c>/connect</c> without activating the connection's grain: it stores the connection's record (create-only) and
/// registers it with its sweep bucket, the batch registry, its rooms and its user. A stateless worker, so it runs on
/// the silo the API's call reached; key 0 (docs/decisions/stateless-connect.md).
/// </summary>
public interface IConnectorGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Registers the connection. Idempotent: a connection already stored answers <c>AlreadyConnected</c> with its rooms and
    /// registers nothing again. Refused (<see cref="TimeoutException"/>) when it starts after the caller's deadline
    /// (<see cref="CallDeadline"/>); undone, then refused, when it finishes after it; taken back when it fails part-way.
    /// </summary>
    Task<ConnectResult> Connect(string connectionId, ConnectRequest request);
}

namespace Tether.LocalGateway;

public enum EmulatedConnectionState
{
    /// <summary>Never existed, closed, or vanished: the Management API answers 410.</summary>
    Unknown,
    /// <summary>Its <c>$connect</c> has not been answered yet: posting answers 410, as API Gateway does.</summary>
    Connecting,
    Open,
}

public sealed record EmulatedConnectionInfo(DateTimeOffset ConnectedAt, DateTimeOffset LastActiveAt, string SourceIp, string UserAgent);

/// <summary>The client side of the emulated API Gateway: whatever holds the connections (real WebSockets, or a test's fakes).</summary>
public interface IEmulatedConnections
{
    EmulatedConnectionState StateOf(string connectionId);

    EmulatedConnectionInfo? InfoOf(string connectionId);

    /// <summary>Sends one message to the client; false when the connection is gone.</summary>
    ValueTask<bool> SendAsync(string connectionId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>Closes the client's socket (DeleteConnection); false when it was not there.</summary>
    ValueTask<bool> CloseAsync(string connectionId);
}

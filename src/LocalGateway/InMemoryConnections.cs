using System.Collections.Concurrent;
using System.Text;

namespace Tether.LocalGateway;

/// <summary>
/// Connections that exist only as records of what they received: for tests and benchmarks that need thousands of
/// clients without sockets. Waiting is event-driven: <see cref="WaitUntilAsync"/> re-checks on every change.
/// </summary>
public sealed class InMemoryConnections : IEmulatedConnections
{
    private readonly ConcurrentDictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly ChangeSignal _signal = new();
    private long _received;

    public long TotalReceived => Interlocked.Read(ref _received);

    public void Add(string connectionId, EmulatedConnectionState state = EmulatedConnectionState.Open, string sourceIp = "127.0.0.1", string userAgent = "test")
    {
        var now = DateTimeOffset.UtcNow;
        _connections[connectionId] = new Connection(new EmulatedConnectionInfo(now, now, sourceIp, userAgent)) { State = state };
        Signal();
    }

    public void Open(string connectionId)
    {
        if (_connections.TryGetValue(connectionId, out var connection)) connection.State = EmulatedConnectionState.Open;
    }

    /// <summary>The client vanished without <c>$disconnect</c>: later posts answer 410.</summary>
    public void Vanish(string connectionId)
    {
        if (_connections.TryGetValue(connectionId, out var connection)) connection.State = EmulatedConnectionState.Unknown;
        Signal();
    }

    public bool WasClosed(string connectionId) => _connections.TryGetValue(connectionId, out var c) && c.Closed;

    public IReadOnlyList<string> Received(string connectionId) =>
        _connections.TryGetValue(connectionId, out var connection) ? connection.Messages.Select(m => Encoding.UTF8.GetString(m)).ToList() : [];

    public int ReceivedCount(string connectionId) => _connections.TryGetValue(connectionId, out var c) ? c.Messages.Count : 0;

    /// <summary>Completes when <paramref name="condition"/> holds; re-checked whenever a connection changes or receives.</summary>
    public Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout) => _signal.WaitUntilAsync(condition, timeout);

    public EmulatedConnectionState StateOf(string connectionId) =>
        _connections.TryGetValue(connectionId, out var c) ? c.State : EmulatedConnectionState.Unknown;

    public EmulatedConnectionInfo? InfoOf(string connectionId) =>
        _connections.TryGetValue(connectionId, out var c) && c.State == EmulatedConnectionState.Open ? c.Info : null;

    public ValueTask<bool> SendAsync(string connectionId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (!_connections.TryGetValue(connectionId, out var c) || c.State != EmulatedConnectionState.Open) return ValueTask.FromResult(false);
        c.Messages.Enqueue(payload.ToArray());
        Interlocked.Increment(ref _received);
        Signal();
        return ValueTask.FromResult(true);
    }

    public ValueTask<bool> CloseAsync(string connectionId)
    {
        if (!_connections.TryGetValue(connectionId, out var c) || c.State == EmulatedConnectionState.Unknown) return ValueTask.FromResult(false);
        c.State = EmulatedConnectionState.Unknown;
        c.Closed = true;
        Signal();
        return ValueTask.FromResult(true);
    }

    private void Signal() => _signal.Notify();

    private sealed class Connection(EmulatedConnectionInfo info)
    {
        public EmulatedConnectionInfo Info { get; } = info;
        public ConcurrentQueue<byte[]> Messages { get; } = new();
        public volatile EmulatedConnectionState State;
        public volatile bool Closed;
    }
}

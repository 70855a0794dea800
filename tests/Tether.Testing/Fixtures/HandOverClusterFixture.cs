using System.Text;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>
/// Two silos, rooms that shard past 4 members into one shard and split it past 8 (a split at depth 0 always puts the
/// new half on the other silo), and an emulated Management API that can hold chosen posts until the test lets them go.
/// </summary>
public sealed class HandOverClusterFixture : ClusterFixture
{
    public GatedConnections Gated { get; private set; } = null!;

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Rooms:ShardThreshold", "4"),
        new("Rooms:InitialShards", "1"),
        new("Rooms:ShardCapacity", "8"),
        new("Rooms:PresenceNotices", "false"),
        // Small messages are held during a hand-over; one of 4 KiB or more makes its publisher wait (the safety valve).
        new("Rooms:ShardHandOverMaxDeferredBytes", "4096"),
        // Held posts must not time out and be retried while the test holds them.
        new("ManagementApi:AttemptTimeout", "00:01:00"),
    ];

    protected override IEmulatedConnections Emulate(InMemoryConnections connections) => Gated = new GatedConnections(connections);
}

/// <summary>Emulated connections whose posts containing a chosen token wait at a gate until it opens.</summary>
public sealed class GatedConnections(InMemoryConnections inner) : IEmulatedConnections
{
    private readonly ChangeSignal _signal = new();
    private volatile Gate? _gate;
    private int _waiting;

    /// <summary>Posts waiting at the gate now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>From now on, posts whose payload contains <paramref name="token"/> wait until <see cref="Open"/>.</summary>
    public void Close(string token) => _gate = new Gate(Encoding.UTF8.GetBytes(token));

    public void Open() => Interlocked.Exchange(ref _gate, null)?.Opened.TrySetResult();

    public Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout) => _signal.WaitUntilAsync(condition, timeout);

    public async ValueTask<bool> SendAsync(string connectionId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (_gate is { } gate && payload.Span.IndexOf(gate.Token) >= 0)
        {
            Interlocked.Increment(ref _waiting);
            _signal.Notify();
            try
            {
                await gate.Opened.Task.WaitAsync(cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
        return await inner.SendAsync(connectionId, payload, cancellationToken);
    }

    public EmulatedConnectionState StateOf(string connectionId) => inner.StateOf(connectionId);

    public EmulatedConnectionInfo? InfoOf(string connectionId) => inner.InfoOf(connectionId);

    public ValueTask<bool> CloseAsync(string connectionId) => inner.CloseAsync(connectionId);

    private sealed class Gate(byte[] token)
    {
        public byte[] Token { get; } = token;
        public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

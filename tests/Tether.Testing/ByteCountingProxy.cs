using System.Net;
using System.Net.Sockets;

namespace Tether.Testing;

/// <summary>
/// A loopback TCP forwarder that counts the bytes its clients send upstream: what a process writes to Redis, measured
/// the same on redis-server and Garnet (whose <c>INFO</c> counters are off by default).
/// </summary>
public sealed class ByteCountingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly Task _accepting;
    private long _sent;

    private ByteCountingProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Listens on a free loopback port and forwards each connection to <paramref name="upstreamPort"/>.</summary>
    public static ByteCountingProxy Start(int upstreamPort) => new(upstreamPort);

    public string ConnectionString => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Bytes the clients have sent upstream so far.</summary>
    public long BytesSent => Interlocked.Read(ref _sent);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
                lock (_pumps)
                {
                    _pumps.Add(PumpAsync(client, upstream, counted: true));
                    _pumps.Add(PumpAsync(upstream, client, counted: false));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool counted)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var source = from.GetStream();
            var target = to.GetStream();
            while (true)
            {
                var read = await source.ReadAsync(buffer, _stop.Token);
                if (read == 0) break;
                if (counted) Interlocked.Add(ref _sent, read);
                await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side closed or the proxy stopped: close the other side too.
        }
        from.Dispose();
        to.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] pumps;
        lock (_pumps) pumps = [.. _pumps];
        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}

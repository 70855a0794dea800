using System.Net;
using System.Net.Sockets;

namespace Tether.Testing;

/// <summary>
/// A TCP proxy in front of a test Redis that can play its outages, for redis-server and Garnet alike: <see cref="Freeze"/>
/// holds every byte in both directions as a Redis stopped with SIGSTOP does (commands already sent run when it thaws),
/// and <see cref="Crash"/> drops every connection and refuses new ones as a killed Redis does, until
/// <see cref="Recover"/> (a restart that kept its data, as with persistence on).
/// </summary>
public sealed class RedisOutageProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Server)> _pairs = [];
    private readonly Lock _gate = new();
    private readonly Task _accepting;
    private volatile TaskCompletionSource _thawed = Thawed();
    private volatile bool _crashed;

    private RedisOutageProxy(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static RedisOutageProxy For(RedisServer redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        return new RedisOutageProxy(redis.Port);
    }

    /// <summary>Holds all traffic (connections stay open, nothing is answered).</summary>
    public void Freeze() => _thawed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Drops every connection and refuses new ones.</summary>
    public void Crash()
    {
        _crashed = true;
        lock (_gate)
        {
            foreach (var (client, server) in _pairs)
            {
                client.Client.Close(0);
                server.Dispose();
            }
            _pairs.Clear();
        }
    }

    /// <summary>Traffic flows again (held bytes first); new connections are accepted.</summary>
    public void Recover()
    {
        _crashed = false;
        _thawed.TrySetResult();
    }

    private static TaskCompletionSource Thawed()
    {
        var thawed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        thawed.SetResult();
        return thawed;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (_crashed)
            {
                client.Client.Close(0);
                continue;
            }
            _ = PairAsync(client);
        }
    }

    private async Task PairAsync(TcpClient client)
    {
        var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            client.Dispose();
            server.Dispose();
            return;
        }
        lock (_gate) _pairs.Add((client, server));
        await Task.WhenAll(PumpAsync(client.GetStream(), server.GetStream()), PumpAsync(server.GetStream(), client.GetStream()));
        lock (_gate) _pairs.Remove((client, server));
        client.Dispose();
        server.Dispose();
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0) break;
                await _thawed.Task.WaitAsync(_stop.Token);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The other side went (a crash played, or the test ends).
        }
        finally
        {
            // One direction ending ends the pair: shut down the other, so its pump returns too.
            try
            {
                to.Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already gone.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Crash();
        await _accepting;
        _stop.Dispose();
    }
}

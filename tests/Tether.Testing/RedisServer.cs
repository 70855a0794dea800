using System.Diagnostics;
using StackExchange.Redis;

namespace Tether.Tests.Support;

/// <summary>A throwaway <c>redis-server</c> on a free loopback port, without persistence; killed on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var port = FreePort.Next();
            var info = new ProcessStartInfo("redis-server")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
            {
                info.ArgumentList.Add(arg);
            }
            Process process;
            try
            {
                process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("redis-server is not on PATH: install it (apt-get install redis-server); .ci/run does.", e);
            }
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var server = new RedisServer(process, port);
            try
            {
                await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(20));
                return server;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Most likely the port was taken between choosing and binding it: try another one.
                last = e;
                await server.DisposeAsync();
            }
        }
        throw new InvalidOperationException("redis-server did not become ready on any port tried.", last);
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited) throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "redis-server exited");
            try
            {
                using var connection = await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},connectTimeout=1000,abortConnect=true");
                await connection.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}

/// <summary>One Redis server for a test class.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

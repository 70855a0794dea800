using System.Diagnostics;
using System.Globalization;
using Garnet;
using Garnet.common;
using StackExchange.Redis;

namespace Tether.Testing;

/// <summary>
/// A throwaway Redis on a free loopback port, without persistence: <c>redis-server</c> as a child process when it is
/// on PATH, else Garnet in this process (Lua on), so a machine with only the .NET SDK runs the Redis-backed tests.
/// <c>TETHER_TEST_REDIS=garnet</c> or <c>=redis-server</c> chooses one.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string ChoiceVariable = "TETHER_TEST_REDIS";
    public const string RedisServerKind = "redis-server";
    public const string GarnetKind = "garnet";

    private readonly Process? _process;
    private readonly GarnetServer? _garnet;

    private RedisServer(int port, string description, Process? process, GarnetServer? garnet = null)
    {
        Port = port;
        Description = description;
        _process = process;
        _garnet = garnet;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Which server this is and why it was chosen, for test output.</summary>
    public string Description { get; }

    /// <summary>
    /// Starts a server; with <paramref name="reportAs"/>, also notes in <c>figures/redis.txt</c> (next to the test
    /// assembly, printed by <c>.ci/run</c>) which server that test ran on.
    /// </summary>
    public static async Task<RedisServer> StartAsync(string? reportAs = null)
    {
        var (kind, reason) = Choose();
        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var port = FreePort.Next();
            RedisServer server;
            try
            {
                server = kind == GarnetKind ? StartGarnet(port, reason) : StartRedisServer(port, reason);
            }
            catch (Exception e) when (e is GarnetException or System.Net.Sockets.SocketException)
            {
                // The port was taken between choosing and binding it: try another one.
                last = e;
                continue;
            }
            try
            {
                await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(20));
                if (reportAs is not null) Figures.Append("redis", $"{reportAs}: {server.Description}");
                return server;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                last = e;
                await server.DisposeAsync();
            }
        }
        throw new InvalidOperationException($"{kind} did not become ready on any port tried.", last);
    }

    private static (string Kind, string Reason) Choose()
    {
        var choice = Environment.GetEnvironmentVariable(ChoiceVariable);
        var onPath = IsOnPath(RedisServerKind);
        switch (choice)
        {
            case GarnetKind:
                return (GarnetKind, $"{ChoiceVariable}={GarnetKind}");
            case RedisServerKind when !onPath:
                throw new InvalidOperationException(
                    $"{ChoiceVariable}={RedisServerKind} but redis-server is not on PATH: install it (apt-get install redis-server) or unset {ChoiceVariable}.");
            case RedisServerKind:
                return (RedisServerKind, $"{ChoiceVariable}={RedisServerKind}");
            case null or "":
                return onPath ? (RedisServerKind, "found on PATH") : (GarnetKind, "redis-server not on PATH");
            default:
                throw new InvalidOperationException($"{ChoiceVariable}={choice}: expected {GarnetKind} or {RedisServerKind}.");
        }
    }

    private static bool IsOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, program)));

    private static RedisServer StartRedisServer(int port, string reason)
    {
        var info = new ProcessStartInfo(RedisServerKind)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new RedisServer(port, $"redis-server on 127.0.0.1:{port} ({reason})", process);
    }

    private static RedisServer StartGarnet(int port, string reason)
    {
        // Orleans' Redis providers (clustering, grain storage, reminders) run Lua scripts: Garnet needs Lua switched
        // on, and its transaction mode so that a script runs atomically as it does on Redis. Memory only: nothing on
        // disk, and no cleanup on dispose (that deletes the default log directory, the working directory).
        string[] args =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--lua", "true", "--lua-transaction-mode", "true",
            "--memory", "256m", "--index", "16m",
        ];
        GarnetServer? garnet = null;
        try
        {
            garnet = new GarnetServer(args, loggerFactory: null, cleanupDir: false);
            garnet.Start();
        }
        catch
        {
            garnet?.Dispose();
            throw;
        }
        var version = typeof(GarnetServer).Assembly.GetName().Version;
        return new RedisServer(port, $"Garnet {version} in-process on 127.0.0.1:{port} ({reason})", null, garnet);
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process is { HasExited: true }) throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "redis-server exited");
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
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
        _garnet?.Dispose();
    }
}

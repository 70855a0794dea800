using StackExchange.Redis;

namespace Tether.Hosting;

/// <summary>
/// Our own Redis connection (history and member sets), apart from Orleans' providers', opened asynchronously at its
/// first use. A synchronous connect inside a room's activation blocked scheduler threads for seconds while many rooms
/// activated at once (the silo reported thread pool stalls of 7 s and `/connect` answered 503).
/// </summary>
public sealed class TetherRedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection;

    public TetherRedisConnection(ConfigurationOptions options)
    {
        var connect = options.Clone();
        // Never a faulted connection for good: without Redis at the first use it keeps trying, as Orleans' providers do.
        connect.AbortOnConnectFail = false;
        _connection = new(async () => await ConnectionMultiplexer.ConnectAsync(connect));
    }

    /// <summary>Over a connection that already exists (tests).</summary>
    public TetherRedisConnection(IConnectionMultiplexer connection) => _connection = new(Task.FromResult(connection));

    public async Task<IDatabase> DatabaseAsync() => (await _connection.Value).GetDatabase();

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated) await (await _connection.Value).DisposeAsync();
    }
}

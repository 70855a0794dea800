using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// A storage failure inside a grain reaches an Orleans client on another host as the Redis exception it is, so the
/// API's guard answers 503 and readiness names the outage; before, the silo could not serialize it and the client got
/// <c>CodecNotFoundException</c>.
/// </summary>
[Trait("Category", "Redis")]
public sealed class WireExceptionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _clusterId = "wire-" + Guid.NewGuid().ToString("N")[..8];
    private RedisServer _redis = null!;
    private IHost _silo = null!;
    private IHost _client = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(WireExceptionTests));
        output.WriteLine(_redis.Description);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (_clusterId, _clusterId));
            silo.ConfigureEndpoints(IPAddress.Loopback, FreePort.Next(), FreePort.Next());
            silo.UseTetherRedisProviders(_redis.ConnectionString);
        });
        _silo = builder.Build();
        await _silo.StartAsync();
        _client = ClusterClients.Build(_clusterId, _redis.ConnectionString);
        await _client.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _client.StopAsync();
        _client.Dispose();
        await _silo.StopAsync();
        _silo.Dispose();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Redis_errors_thrown_in_a_grain_arrive_at_the_client_as_what_they_are()
    {
        var grain = _client.Services.GetRequiredService<IClusterClient>().GetGrain<IFailingStorageGrain>("room:lobby");

        var server = await Assert.ThrowsAsync<RedisServerException>(grain.FailWithServerError);
        var connection = await Assert.ThrowsAsync<RedisConnectionException>(grain.FailWithConnectionError);
        var wrapped = await Assert.ThrowsAsync<InvalidOperationException>(grain.FailWithWrappedTimeout);

        Assert.Equal("ERR script refused", server.Message);
        // Type, message and inner exceptions cross; a library's own properties (FailureType here) do not.
        Assert.Equal("No connection is available", connection.Message);
        Assert.IsType<Pipelines.Sockets.Unofficial.ConnectionResetException>(connection.InnerException);
        Assert.IsType<RedisTimeoutException>(wrapped.InnerException);
    }
}

public interface IFailingStorageGrain : IGrainWithStringKey
{
    Task FailWithServerError();

    Task FailWithConnectionError();

    Task FailWithWrappedTimeout();
}

/// <summary>Throws what StackExchange.Redis throws during an outage, as grain storage and the history store let it out.</summary>
public sealed class FailingStorageGrain : Grain, IFailingStorageGrain
{
    public Task FailWithServerError() => throw new RedisServerException("ERR script refused");

    public Task FailWithConnectionError() => throw new RedisConnectionException(ConnectionFailureType.SocketFailure, "No connection is available",
        new Pipelines.Sockets.Unofficial.ConnectionResetException("Connection reset by peer", new System.Net.Sockets.SocketException(104)));

    public Task FailWithWrappedTimeout() =>
        throw new InvalidOperationException("history write failed", new RedisTimeoutException("Timeout awaiting response", CommandStatus.Sent));
}

using Orleans.Persistence.Redis;
using Orleans.Storage;
using StackExchange.Redis;
using Tether.Api.Hosting;

namespace Tether.Tests.Operations;

/// <summary>What the API's guard answers 503 for: the cluster or its storage failing, never the request being wrong.</summary>
public sealed class ClusterFailuresTests
{
    [Fact]
    public void Storage_and_cluster_failures_count_as_unavailable_also_when_wrapped()
    {
        var timeout = new RedisTimeoutException("Timeout awaiting response", CommandStatus.Sent);

        Assert.True(ClusterFailures.IsUnavailable(new RedisConnectionException(ConnectionFailureType.UnableToConnect, "down")));
        Assert.True(ClusterFailures.IsUnavailable(timeout));
        Assert.True(ClusterFailures.IsUnavailable(new RedisStorageException("Failed to write grain state", timeout)));
        Assert.True(ClusterFailures.IsUnavailable(new InconsistentStateException("version conflict", "1", "2")));
        Assert.True(ClusterFailures.IsUnavailable(new SiloUnavailableException()));
    }

    [Fact]
    public void Bugs_are_not_passed_off_as_an_outage()
    {
        Assert.False(ClusterFailures.IsUnavailable(new InvalidOperationException("a bug")));
        Assert.False(ClusterFailures.IsUnavailable(new ArgumentException("bad", new FormatException())));
    }
}

using Orleans.Persistence.Redis;
using Orleans.Reminders.Redis;
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
    public void Redis_failures_that_Orleans_providers_report_without_their_cause_count_as_unavailable()
    {
        // The reminder table (a sweep bucket's first /connect) and grain storage's writes keep only the message.
        Assert.True(ClusterFailures.IsUnavailable(new RedisRemindersException("StackExchange.Redis.RedisConnectionException: No connection is available")));
        Assert.True(ClusterFailures.IsUnavailable(new RedisStorageException("Failed to write grain state. StackExchange.Redis.RedisTimeoutException: Timeout")));
    }

    [Fact]
    public void Bugs_are_not_passed_off_as_an_outage()
    {
        Assert.False(ClusterFailures.IsUnavailable(new InvalidOperationException("a bug")));
        Assert.False(ClusterFailures.IsUnavailable(new ArgumentException("bad", new FormatException())));
    }
}

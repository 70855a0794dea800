using System.Text;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Tether.Contracts;
using Tether.LocalGateway;
using Tether.Delivery;

namespace Tether.Tests.Management;

/// <summary>The client against the emulated Management API on a real loopback socket, signatures verified.</summary>
public sealed class ManagementApiClientTests : IAsyncLifetime
{
    private readonly InMemoryConnections _connections = new();
    private ManagementApiEmulatorHost _host = null!;

    public async Task InitializeAsync() => _host = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), _connections);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static ManagementApiOptions FastRetries => new()
    {
        MaxRetryAttempts = 3,
        RetryBaseDelay = TimeSpan.FromMilliseconds(5),
        RetryMaxDelay = TimeSpan.FromMilliseconds(200),
        AttemptTimeout = TimeSpan.FromSeconds(2),
    };

    private ManagementApiClient Client(ManagementApiOptions? options = null, AWSCredentials? credentials = null, ILogger<ManagementApiClient>? logger = null) =>
        new(_host.ConnectionUrl, "us-east-1", credentials ?? TestCredentials.Aws, options ?? FastRetries, logger ?? new ListLogger<ManagementApiClient>());

    private static (byte[] Payload, string Hash) Payload(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return (bytes, Envelopes.Sha256Hex(bytes));
    }

    [Theory]
    [InlineData("R0oXAdfD0kwCH6w=")]
    [InlineData("a+b/c=d-e_f==")]
    public async Task Post_delivers_signed_bytes_to_ids_with_base64_characters(string id)
    {
        _connections.Add(id);
        using var client = Client();
        var (payload, hash) = Payload("{\"hello\":\"wörld\"}");

        var result = await client.PostAsync(id, payload, hash);

        Assert.Equal(ManagementOutcome.Delivered, result.Outcome);
        Assert.Equal(1, result.Attempts);
        Assert.Equal(["{\"hello\":\"wörld\"}"], _connections.Received(id));
    }

    [Fact]
    public async Task Wrong_secret_is_forbidden_not_retried_and_logged_once_with_what_to_check()
    {
        _connections.Add("c1");
        var logger = new ListLogger<ManagementApiClient>();
        using var client = Client(credentials: new BasicAWSCredentials(TestCredentials.AccessKeyId, "wrong"), logger: logger);
        var (payload, hash) = Payload("{}");

        var first = await client.PostAsync("c1", payload, hash);
        var second = await client.PostAsync("c1", payload, hash);

        Assert.Equal(ManagementOutcome.Forbidden, first.Outcome);
        Assert.Equal("ForbiddenException", first.ErrorType);
        Assert.Equal(1, first.Attempts);
        Assert.Equal(ManagementOutcome.Forbidden, second.Outcome);
        Assert.Equal(2, _host.Emulator.Stats.Forbidden);
        var error = Assert.Single(logger.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("execute-api:ManageConnections", error.Message, StringComparison.Ordinal);
        Assert.Contains("stage", error.Message, StringComparison.Ordinal);
        Assert.Empty(_connections.Received("c1"));
    }

    [Fact]
    public async Task Gone_is_a_value_and_never_retried()
    {
        using var client = Client();
        var (payload, hash) = Payload("{}");

        var result = await client.PostAsync("unknown=", payload, hash);

        Assert.Equal(ManagementOutcome.Gone, result.Outcome);
        Assert.Equal("GoneException", result.ErrorType);
        Assert.Equal(1, result.Attempts);
        Assert.Equal(1, _host.Emulator.Stats.Posts);
    }

    [Fact]
    public async Task Posting_before_connect_finished_is_gone()
    {
        _connections.Add("pending", EmulatedConnectionState.Connecting);
        using var client = Client();
        var (payload, hash) = Payload("{}");

        Assert.Equal(ManagementOutcome.Gone, (await client.PostAsync("pending", payload, hash)).Outcome);
    }

    [Fact]
    public async Task Too_large_is_refused_without_retry()
    {
        _connections.Add("c1");
        // A first call on a cold host of a busy machine may outlast FastRetries' 2 s attempt and be retried for that;
        // what must never be retried is the 413.
        var options = FastRetries;
        options.AttemptTimeout = TimeSpan.FromSeconds(30);
        using var client = Client(options);
        var (payload, hash) = Payload("\"" + new string('x', 128 * 1024) + "\"");

        var result = await client.PostAsync("c1", payload, hash);

        Assert.Equal(ManagementOutcome.TooLarge, result.Outcome);
        Assert.Equal(1, result.Attempts);
    }

    [Fact]
    public async Task Throttling_and_server_errors_are_retried_until_delivered()
    {
        _connections.Add("c1");
        _host.Emulator.Faults.Script("c1", 429, 500, 503);
        using var client = Client();
        var (payload, hash) = Payload("{\"n\":1}");

        var result = await client.PostAsync("c1", payload, hash);

        Assert.Equal(ManagementOutcome.Delivered, result.Outcome);
        Assert.Equal(4, result.Attempts);
        Assert.Single(_connections.Received("c1"));
    }

    [Fact]
    public async Task Throttling_that_outlasts_the_retries_ends_throttled()
    {
        _connections.Add("c1");
        _host.Emulator.Faults.Script("c1", 429, 429, 429, 429, 429);
        using var client = Client();
        var (payload, hash) = Payload("{}");

        var result = await client.PostAsync("c1", payload, hash);

        Assert.Equal(ManagementOutcome.Throttled, result.Outcome);
        Assert.Equal(4, result.Attempts);
        Assert.Empty(_connections.Received("c1"));
    }

    [Fact]
    public async Task Retry_after_is_honoured()
    {
        _connections.Add("c1");
        _host.Emulator.Faults.RetryAfterSeconds = 1;
        _host.Emulator.Faults.Script("c1", 429);
        using var client = Client(new ManagementApiOptions
        {
            MaxRetryAttempts = 2, RetryBaseDelay = TimeSpan.FromMilliseconds(1), RetryMaxDelay = TimeSpan.FromSeconds(3),
        });
        var (payload, hash) = Payload("{}");
        var started = TimeProvider.System.GetTimestamp();

        var result = await client.PostAsync("c1", payload, hash);

        Assert.Equal(ManagementOutcome.Delivered, result.Outcome);
        Assert.True(TimeProvider.System.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(950), "the retry waited less than Retry-After");
    }

    [Fact]
    public async Task A_slow_attempt_times_out_and_is_retried()
    {
        _connections.Add("c1");
        _host.Emulator.Faults.Latency = TimeSpan.FromSeconds(2);
        using var client = Client(new ManagementApiOptions
        {
            MaxRetryAttempts = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(1), AttemptTimeout = TimeSpan.FromMilliseconds(200),
        });
        var (payload, hash) = Payload("{}");

        var result = await client.PostAsync("c1", payload, hash);

        Assert.Equal(ManagementOutcome.Failed, result.Outcome);
        Assert.Equal("timed out", result.Detail);
        Assert.Equal(2, result.Attempts);
    }

    [Fact]
    public async Task A_dead_endpoint_opens_the_circuit_and_is_not_hammered()
    {
        var deadPort = FreePort.Next();
        using var client = new ManagementApiClient(new Uri($"http://127.0.0.1:{deadPort}/local"), "us-east-1", TestCredentials.Aws,
            new ManagementApiOptions
            {
                MaxRetryAttempts = 0, BreakerMinimumThroughput = 5, BreakerFailureRatio = 0.5,
                BreakerBreakDuration = TimeSpan.FromMinutes(1), AttemptTimeout = TimeSpan.FromSeconds(1),
            }, new ListLogger<ManagementApiClient>());
        var (payload, hash) = Payload("{}");

        var results = new List<ManagementResult>();
        for (var i = 0; i < 10; i++) results.Add(await client.PostAsync("c1", payload, hash));

        Assert.All(results, r => Assert.Equal(ManagementOutcome.Failed, r.Outcome));
        Assert.Contains(results, r => r.Detail!.StartsWith("circuit open", StringComparison.Ordinal));
        Assert.Equal(0, results[^1].Attempts);
    }

    [Fact]
    public async Task Get_and_delete_connection()
    {
        _connections.Add("c1", sourceIp: "203.0.113.9", userAgent: "wscat");
        using var client = Client();

        var (found, info) = await client.GetAsync("c1");
        Assert.Equal(ManagementOutcome.Delivered, found.Outcome);
        Assert.Equal("203.0.113.9", info!.SourceIp);
        Assert.Equal("wscat", info.UserAgent);
        Assert.NotNull(info.ConnectedAt);

        Assert.Equal(ManagementOutcome.Delivered, (await client.DeleteAsync("c1")).Outcome);
        Assert.True(_connections.WasClosed("c1"));
        Assert.Equal(ManagementOutcome.Gone, (await client.GetAsync("c1")).Result.Outcome);
        Assert.Equal(ManagementOutcome.Gone, (await client.DeleteAsync("c1")).Outcome);
    }

    [Fact]
    public async Task A_wrong_stage_is_forbidden()
    {
        _connections.Add("c1");
        using var client = new ManagementApiClient(new Uri(_host.BaseAddress, "prod"), "us-east-1", TestCredentials.Aws, FastRetries, new ListLogger<ManagementApiClient>());
        var (payload, hash) = Payload("{}");

        Assert.Equal(ManagementOutcome.Forbidden, (await client.PostAsync("c1", payload, hash)).Outcome);
    }
}

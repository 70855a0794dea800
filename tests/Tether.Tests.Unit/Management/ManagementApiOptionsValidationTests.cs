using Amazon.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Tether.Tests.Management;

/// <summary>Management API settings AWS or the resilience pipeline would refuse are refused at start, naming the key.</summary>
public sealed class ManagementApiOptionsValidationTests
{
    private const string Frankfurt = "https://abc123defg.execute-api.eu-central-1.amazonaws.com/prod";

    private static ManagementApiOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        var options = new ManagementApiOptions();
        ManagementApiOptions.Bind(configuration, options);
        return options;
    }

    private static ValidateOptionsResult Validate(ManagementApiOptions options) =>
        new ManagementApiOptionsValidator(endpointRequired: true).Validate(null, options);

    [Theory]
    [InlineData("ManagementApi:Region")]
    [InlineData("AWS_REGION")]
    [InlineData("AWS_DEFAULT_REGION")]
    public void A_signing_region_other_than_the_hosts_is_refused_naming_both(string regionKey)
    {
        var result = Validate(Bind(("ManagementApi:Endpoint", Frankfurt), (regionKey, "us-east-1")));

        Assert.True(result.Failed);
        Assert.Contains("ManagementApi__Region", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("AWS_REGION", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("'eu-central-1'", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("'us-east-1'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("eu-central-1")]
    public void The_hosts_region_or_none_is_accepted(string? region)
    {
        var options = Bind(("RESPONSE_MESSAGE_URL", Frankfurt));
        options.Region = region;

        Assert.True(Validate(options).Succeeded);
    }

    [Fact]
    public void A_host_without_a_region_accepts_any_signing_region()
    {
        var options = Bind(("ManagementApi:Endpoint", "https://ws.example.com/prod"), ("AWS_REGION", "ap-southeast-1"));

        Assert.True(Validate(options).Succeeded);
    }

    [Theory]
    [InlineData(nameof(ManagementApiOptions.AttemptTimeout), "00:00:00")]
    [InlineData(nameof(ManagementApiOptions.AttemptTimeout), "-00:00:01")]
    [InlineData(nameof(ManagementApiOptions.AttemptTimeout), "00:00:00.009")]
    [InlineData(nameof(ManagementApiOptions.AttemptTimeout), "1.00:00:01")]
    [InlineData(nameof(ManagementApiOptions.RetryBaseDelay), "-00:00:00.001")]
    [InlineData(nameof(ManagementApiOptions.RetryBaseDelay), "1.00:00:01")]
    [InlineData(nameof(ManagementApiOptions.RetryMaxDelay), "-00:00:01")]
    [InlineData(nameof(ManagementApiOptions.RetryMaxDelay), "1.00:00:01")]
    [InlineData(nameof(ManagementApiOptions.BreakerSamplingDuration), "00:00:00")]
    [InlineData(nameof(ManagementApiOptions.BreakerSamplingDuration), "00:00:00.499")]
    [InlineData(nameof(ManagementApiOptions.BreakerSamplingDuration), "-00:00:10")]
    [InlineData(nameof(ManagementApiOptions.BreakerBreakDuration), "-00:00:05")]
    [InlineData(nameof(ManagementApiOptions.BreakerBreakDuration), "00:00:00.1")]
    [InlineData(nameof(ManagementApiOptions.BreakerBreakDuration), "2.00:00:00")]
    public void A_timing_out_of_range_is_refused_with_its_name(string key, string value)
    {
        var result = Validate(Bind(("ManagementApi:Endpoint", Frankfurt), ($"ManagementApi:{key}", value)));

        Assert.True(result.Failed);
        Assert.Contains($"ManagementApi__{key}", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00:00:00.010", "00:00:00", "00:00:00", "00:00:00.500")]
    [InlineData("1.00:00:00", "1.00:00:00", "1.00:00:00", "1.00:00:00")]
    public void Every_timing_the_validator_accepts_builds_the_client(string attempt, string baseDelay, string maxDelay, string breaker)
    {
        var options = Bind(
            ("ManagementApi:Endpoint", Frankfurt),
            ("ManagementApi:AttemptTimeout", attempt),
            ("ManagementApi:RetryBaseDelay", baseDelay),
            ("ManagementApi:RetryMaxDelay", maxDelay),
            ("ManagementApi:BreakerSamplingDuration", breaker),
            ("ManagementApi:BreakerBreakDuration", breaker));
        Assert.True(Validate(options).Succeeded);

        // The resilience pipeline checks its own options when it is built: our bounds must be no looser.
        using var client = new ManagementApiClient(new Uri(Frankfurt), "eu-central-1",
            new BasicAWSCredentials(TestCredentials.AccessKeyId, TestCredentials.SecretAccessKey), options, new ListLogger<ManagementApiClient>());
        Assert.Equal(new Uri(Frankfurt), client.Endpoint);
    }
}

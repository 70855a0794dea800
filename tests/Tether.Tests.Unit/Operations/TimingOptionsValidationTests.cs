using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Tether.Tests.Operations;

/// <summary>Timings that cannot work (a negative wait, a zero retention) are refused at start, naming the key.</summary>
public sealed class TimingOptionsValidationTests
{
    private static TOptions Bind<TOptions>(string section, string key, string value) where TOptions : new()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>($"{section}:{key}", value)])
            .Build();
        var options = new TOptions();
        configuration.GetSection(section).Bind(options);
        return options;
    }

    private static void AssertRefused(ValidateOptionsResult result, string section, string key)
    {
        Assert.True(result.Failed);
        Assert.Contains($"{section}__{key.Replace(":", "__", StringComparison.Ordinal)}", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AdmissionTimeout", "-00:00:01")]
    [InlineData("AdmissionTimeout", "2.00:00:00")]
    [InlineData("GoneMemory", "00:00:00")]
    [InlineData("GoneMemory", "-00:15:00")]
    [InlineData("DrainTimeout", "-00:00:00.001")]
    [InlineData("DrainTimeout", "2.00:00:00")]
    [InlineData("TrackedSummaryRetention", "00:00:00")]
    [InlineData("TrackedSummaryRetention", "-00:02:00")]
    [InlineData("MaxOutageDelay", "-00:00:01")]
    [InlineData("MaxOutageDelay", "2.00:00:00")]
    public void Delivery_timings_that_cannot_work_are_refused(string key, string value)
    {
        var options = Bind<DeliveryOptions>(DeliveryOptions.Section, key, value);

        AssertRefused(new DeliveryOptionsValidator().Validate(null, options), DeliveryOptions.Section, key);
    }

    [Theory]
    [InlineData("Gateway:RefreshPeriod", "00:00:00")]
    [InlineData("Gateway:RefreshPeriod", "-00:00:10")]
    [InlineData("Messaging:ResponseTimeout", "00:00:00")]
    [InlineData("Messaging:ResponseTimeout", "-00:00:10")]
    public void Orleans_client_timings_that_cannot_work_are_refused(string key, string value)
    {
        var options = Bind<OrleansHostOptions>(OrleansHostOptions.Section, key, value);

        AssertRefused(new OrleansHostOptionsValidator().Validate(null, options), OrleansHostOptions.Section, key);
    }

    [Fact]
    public void The_default_timings_are_accepted()
    {
        Assert.True(new DeliveryOptionsValidator().Validate(null, new DeliveryOptions()).Succeeded);
        Assert.True(new OrleansHostOptionsValidator().Validate(null, new OrleansHostOptions()).Succeeded);
    }

    [Fact]
    public void No_wait_and_no_drain_are_accepted()
    {
        var options = new DeliveryOptions { AdmissionTimeout = TimeSpan.Zero, DrainTimeout = TimeSpan.Zero };

        Assert.True(new DeliveryOptionsValidator().Validate(null, options).Succeeded);
    }
}

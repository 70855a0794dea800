using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Tether.Tests.Operations;

/// <summary>
/// Issue 18 point 5: the admission wait, with a margin for the rest of the call, stays below the response timeouts
/// of the silos and of the API nodes, or the start is refused naming the keys.
/// </summary>
public sealed class AdmissionTimeoutValidationTests
{
    private static ValidateOptionsResult OnApiNode(TimeSpan admission, TimeSpan response) =>
        new ClientAdmissionTimeoutValidator(Options.Create(new DeliveryOptions { AdmissionTimeout = admission }))
            .Validate(null, new OrleansHostOptions { Messaging = new OrleansMessagingSettings { ResponseTimeout = response } });

    private static ValidateOptionsResult OnSilo(TimeSpan admission, TimeSpan response) =>
        new SiloAdmissionTimeoutValidator(Options.Create(new SiloMessagingOptions { ResponseTimeout = response }))
            .Validate(null, new DeliveryOptions { AdmissionTimeout = admission });

    [Fact]
    public void The_defaults_leave_the_margin_below_the_api_nodes_and_the_silos_timeouts()
    {
        Assert.True(OnApiNode(DeliveryOptions.DefaultAdmissionTimeout, OrleansHostOptions.DefaultResponseTimeout).Succeeded);
        Assert.True(OnSilo(DeliveryOptions.DefaultAdmissionTimeout, new SiloMessagingOptions().ResponseTimeout).Succeeded);
    }

    [Theory]
    [InlineData(10, 10)]
    [InlineData(8, 10)]
    [InlineData(30, 20)]
    public void An_admission_wait_too_close_to_an_api_nodes_timeout_is_refused_naming_both_keys(int admissionSeconds, int responseSeconds)
    {
        var result = OnApiNode(TimeSpan.FromSeconds(admissionSeconds), TimeSpan.FromSeconds(responseSeconds));

        Assert.True(result.Failed);
        Assert.Contains("Delivery__AdmissionTimeout", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Orleans__Messaging__ResponseTimeout", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void An_admission_wait_too_close_to_the_silos_timeout_is_refused_naming_it()
    {
        var result = OnSilo(TimeSpan.FromSeconds(28), TimeSpan.FromSeconds(30));

        Assert.True(result.Failed);
        Assert.Contains("Delivery__AdmissionTimeout", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("SiloMessagingOptions.ResponseTimeout", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wait_with_the_margin_below_the_timeout_is_accepted()
    {
        Assert.True(OnApiNode(TimeSpan.FromSeconds(6.9), TimeSpan.FromSeconds(10)).Succeeded);
        Assert.True(OnApiNode(TimeSpan.Zero, TimeSpan.FromSeconds(4)).Succeeded);
    }
}

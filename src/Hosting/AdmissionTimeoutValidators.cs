using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tether.Contracts;
using Tether.Delivery;

namespace Tether.Hosting;

/// <summary>
/// A sender held by admission for <c>Delivery__AdmissionTimeout</c> must still hear "sent" before its caller's grain
/// call times out, or it is told "failed" for a message that is then delivered (issue 18 point 5). So the wait, plus
/// <see cref="CallDeadline.Margin"/> for the rest of the call, must stay below the response timeouts of the silos
/// (silo-to-silo calls, and the API's calls in the embedded shape) and of the API nodes' Orleans clients.
/// </summary>
public static class AdmissionTimeouts
{
    /// <summary>Whether a sender held for <paramref name="admission"/> is answered within <paramref name="responseTimeout"/>.</summary>
    public static bool Fits(TimeSpan admission, TimeSpan responseTimeout) => admission + CallDeadline.Margin < responseTimeout;

    internal static string Problem(TimeSpan admission, string responseKey, TimeSpan responseTimeout) =>
        $"Delivery__AdmissionTimeout ({admission:c}) plus {CallDeadline.Margin.TotalSeconds:0} s must stay below {responseKey} " +
        $"({responseTimeout:c}): a sender held that long would be told 'failed' for a message that is then delivered. " +
        "Lower Delivery__AdmissionTimeout or raise the response timeout.";
}

/// <summary>On a silo: against Orleans' silo response timeout, which also times the API's calls in the embedded shape.</summary>
internal sealed class SiloAdmissionTimeoutValidator(IOptions<SiloMessagingOptions> messaging) : IValidateOptions<DeliveryOptions>
{
    /// <summary>Orleans binds no configuration key to it by itself; this is the option it reads.</summary>
    internal const string ResponseKey = "the silos' response timeout (Orleans SiloMessagingOptions.ResponseTimeout, 30 s by default)";

    public ValidateOptionsResult Validate(string? name, DeliveryOptions options)
    {
        var response = messaging.Value.ResponseTimeout;
        return AdmissionTimeouts.Fits(options.AdmissionTimeout, response)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(AdmissionTimeouts.Problem(options.AdmissionTimeout, ResponseKey, response));
    }
}

/// <summary>On an API node of the cluster shape: against its Orleans client's response timeout.</summary>
internal sealed class ClientAdmissionTimeoutValidator(IOptions<DeliveryOptions> delivery) : IValidateOptions<OrleansHostOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansHostOptions options)
    {
        var admission = delivery.Value.AdmissionTimeout;
        var response = options.Messaging.ResponseTimeout;
        // A non-positive response timeout is refused by OrleansHostOptionsValidator already.
        return response <= TimeSpan.Zero || AdmissionTimeouts.Fits(admission, response)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(AdmissionTimeouts.Problem(admission, "Orleans__Messaging__ResponseTimeout", response));
    }
}

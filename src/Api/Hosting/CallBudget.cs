using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Tether.Api.Hosting;

/// <summary>
/// How long this node waits for a grain call before answering 503: its Orleans response timeout (the client's in the
/// cluster shape, the co-hosted silo's when embedded), and never past API Gateway's 29 s integration timeout.
/// Integration calls carry the matching <see cref="Contracts.CallDeadline"/>.
/// </summary>
internal sealed class CallBudget(TimeSpan timeout)
{
    /// <summary>API Gateway gives up on an integration after this (docs: api-gateway-facts, integration timeout).</summary>
    internal static readonly TimeSpan IntegrationTimeout = TimeSpan.FromSeconds(29);

    public TimeSpan Timeout { get; } = timeout < IntegrationTimeout ? timeout : IntegrationTimeout;

    public static CallBudget Embedded(IServiceProvider services) =>
        new(services.GetRequiredService<IOptions<SiloMessagingOptions>>().Value.ResponseTimeout);

    public static CallBudget Client(IServiceProvider services) =>
        new(services.GetRequiredService<IOptions<ClientMessagingOptions>>().Value.ResponseTimeout);
}

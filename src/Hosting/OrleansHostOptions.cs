using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Tether.Hosting;

/// <summary>
/// Orleans ids, endpoints and client timings (configuration section <c>Orleans</c>). Orleans' own options classes
/// bind the section's other parts directly: <c>Orleans__Membership__*</c>, <c>Orleans__GrainCollection__*</c>,
/// <c>Orleans__DirectoryCache__*</c>.
/// </summary>
public sealed class OrleansHostOptions
{
    public const string Section = "Orleans";

    public const string DefaultServiceId = "tether";

    /// <summary>The cluster id of the Redis shape; the localhost shapes pass their own default.</summary>
    public const string DefaultClusterId = "tether";

    public static readonly TimeSpan DefaultGatewayRefreshPeriod = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A call stranded on a silo that died is only failed by this timeout. API Gateway gives up on an integration
    /// after 29 s anyway, so an API node answers 503 well before that instead of after Orleans' default 30 s.
    /// </summary>
    public static readonly TimeSpan DefaultResponseTimeout = TimeSpan.FromSeconds(10);

    public string ServiceId { get; set; } = DefaultServiceId;

    /// <summary>Unset: <see cref="DefaultClusterId"/>, or the localhost shape's own default.</summary>
    public string? ClusterId { get; set; }

    public OrleansEndpointSettings Endpoints { get; set; } = new();

    public OrleansGatewaySettings Gateway { get; set; } = new();

    public OrleansMessagingSettings Messaging { get; set; } = new();
}

/// <summary><c>Orleans__Endpoints__*</c>: where a silo listens and what it advertises.</summary>
public sealed class OrleansEndpointSettings
{
    public int SiloPort { get; set; } = EndpointOptions.DEFAULT_SILO_PORT;

    public int GatewayPort { get; set; } = EndpointOptions.DEFAULT_GATEWAY_PORT;

    /// <summary>The address other silos and clients dial (in a container: the container's); unset: the first non-loopback address.</summary>
    public string? AdvertisedIPAddress { get; set; }

    /// <summary>The address to bind; unset: every interface.</summary>
    public string? ListenAddress { get; set; }
}

/// <summary><c>Orleans__Gateway__*</c>: how an Orleans client finds the silos' gateways.</summary>
public sealed class OrleansGatewaySettings
{
    public TimeSpan RefreshPeriod { get; set; } = OrleansHostOptions.DefaultGatewayRefreshPeriod;
}

/// <summary><c>Orleans__Messaging__*</c>: an Orleans client's call timing.</summary>
public sealed class OrleansMessagingSettings
{
    public TimeSpan ResponseTimeout { get; set; } = OrleansHostOptions.DefaultResponseTimeout;
}

internal sealed class OrleansHostOptionsValidator : IValidateOptions<OrleansHostOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansHostOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ServiceId)) problems.Add("Orleans__ServiceId must not be empty.");
        foreach (var (key, text) in new[]
                 {
                     (nameof(OrleansEndpointSettings.AdvertisedIPAddress), options.Endpoints.AdvertisedIPAddress),
                     (nameof(OrleansEndpointSettings.ListenAddress), options.Endpoints.ListenAddress),
                 })
        {
            if (!string.IsNullOrWhiteSpace(text) && !IPAddress.TryParse(text, out _))
            {
                problems.Add($"Orleans__Endpoints__{key} '{text}' is not an IP address.");
            }
        }
        if (options.Gateway.RefreshPeriod <= TimeSpan.Zero) problems.Add("Orleans__Gateway__RefreshPeriod must be positive.");
        if (options.Messaging.ResponseTimeout <= TimeSpan.Zero) problems.Add("Orleans__Messaging__ResponseTimeout must be positive.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

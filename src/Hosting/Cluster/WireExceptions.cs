using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Tether.Hosting;

/// <summary>
/// Lets the exceptions of the libraries our grains call (and those inside them, such as a Redis connection reset)
/// cross the wire as what they are. Orleans serializes only
/// exceptions from the System, Microsoft and Azure namespaces; any other (a Redis timeout from grain storage or
/// history, a Polly breaker) made the whole response fail with <c>CodecNotFoundException</c>, so callers, the API's
/// 503 guard and readiness saw a serializer error instead of the outage.
/// </summary>
public static class WireExceptions
{
    /// <summary>Namespaces, besides Orleans' defaults, whose exceptions silos send and clients read.</summary>
    public static IReadOnlyList<string> Namespaces { get; } = ["StackExchange.Redis", "Pipelines.Sockets.Unofficial", "Polly"];

    public static IServiceCollection AddTetherWireExceptions(this IServiceCollection services) =>
        services.Configure<ExceptionSerializationOptions>(options =>
        {
            foreach (var prefix in Namespaces) options.SupportedNamespacePrefixes.Add(prefix);
        });
}

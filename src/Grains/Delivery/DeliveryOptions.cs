using System.ComponentModel.DataAnnotations;

namespace Tether.Delivery;

/// <summary>The per-silo dispatcher (configuration section <c>Delivery</c>).</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Delivery";

    /// <summary>At most this many Management API posts are in flight per silo.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrency { get; set; } = 128;

    /// <summary>How long a connection that answered 410 is remembered, so that queued messages skip it.</summary>
    public TimeSpan GoneMemory { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>On shutdown, how long queued deliveries may take to drain before they are abandoned.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a finished <c>?wait=true</c> summary is kept for its waiter.</summary>
    public TimeSpan TrackedSummaryRetention { get; set; } = TimeSpan.FromMinutes(2);
}

using Microsoft.Extensions.Options;

namespace Tether.Delivery;

/// <summary>The per-silo dispatcher (configuration section <c>Delivery</c>).</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Delivery";

    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Half of an AWS account's default throttle (10,000 requests/s), which every API of the account shares: docs/decisions/post-budget.md.</summary>
    public const int DefaultMaxPostsPerSecond = 5_000;

    public const int DefaultMaxBatchBytes = 32 * 1024;

    /// <summary>
    /// Rides out a Management API blip of up to a minute (many cycles of its circuit breaker) while what arrives is
    /// still a live conversation; what a longer outage drops, clients get back from history (<c>History__Ttl</c>, 1 hour).
    /// </summary>
    public static readonly TimeSpan DefaultMaxOutageDelay = TimeSpan.FromMinutes(1);

    /// <summary>API Gateway's limit for one post.</summary>
    public const int PostLimitBytes = 128 * 1024;

    /// <summary>
    /// Management API posts per second for the whole cluster, split evenly over the live silos and re-split when silos
    /// join or leave. Each silo lowers its share on 429 and climbs back (AIMD).
    /// </summary>
    public int MaxPostsPerSecond { get; set; } = DefaultMaxPostsPerSecond;

    /// <summary>The largest post that carries several envelopes to a connection that asked for batches (<c>batch=1</c>).</summary>
    public int MaxBatchBytes { get; set; } = DefaultMaxBatchBytes;

    /// <summary>
    /// How old this silo's copy of a bucket of the batch registry (who asked for <c>batch=1</c>) may get before a post
    /// to it reads the bucket again: a new batch connection gets one envelope per post for at most about this long.
    /// </summary>
    public TimeSpan BatchRegistryRefresh { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a post answered 429 keeps being retried (paced by the budget) before it ends throttled.</summary>
    public TimeSpan ThrottledRetryTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Little's law: posts in flight = posts/s × time per post. 512 carries the default budget up to 100 ms per post
    /// (API Gateway's 10–30 ms plus a busy silo's own delays); 128 left it at 78 %: docs/decisions/post-budget.md.
    /// </summary>
    public const int DefaultMaxConcurrency = 512;

    /// <summary>At most this many Management API posts are in flight per silo (the budget, not this, sets the rate).</summary>
    public int MaxConcurrency { get; set; } = DefaultMaxConcurrency;

    /// <summary>
    /// Posts queued on this silo (not yet started) above which a stream that already has posts waiting must wait
    /// before it adds more: senders are slowed to the rate the Management API takes, and memory stays bounded,
    /// instead of a backlog growing without limit. A stream with nothing queued (a quiet room, a direct message) is
    /// never held. 0 turns this off.
    /// </summary>
    public int MaxQueued { get; set; } = 4096;

    /// <summary>
    /// The longest a sender waits for the queue to fall below <see cref="MaxQueued"/>; after that its posts are queued
    /// anyway. Validated at start to stay (with a margin) below the response timeouts, so a held sender hears "sent"
    /// rather than a timeout: 5 s leaves room under the API nodes' 10 s (<c>Orleans__Messaging__ResponseTimeout</c>).
    /// </summary>
    public TimeSpan AdmissionTimeout { get; set; } = DefaultAdmissionTimeout;

    public static readonly TimeSpan DefaultAdmissionTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a post refused by the Management API's open (or half-open) circuit breaker, or failed while it is open,
    /// waits for it to close, counted from when the post was queued; then it is dropped and counted. While the breaker
    /// is open at most <see cref="MaxQueued"/> posts wait on this silo and further posts are dropped at once. 0: a
    /// refused post fails at once.
    /// </summary>
    public TimeSpan MaxOutageDelay { get; set; } = DefaultMaxOutageDelay;

    /// <summary>How long a connection that answered 410 is remembered, so that queued messages skip it.</summary>
    public TimeSpan GoneMemory { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>On shutdown, how long queued deliveries may take to drain before they are abandoned.</summary>
    public TimeSpan DrainTimeout { get; set; } = DefaultDrainTimeout;

    /// <summary>How long a finished <c>?wait=true</c> summary is kept for its waiter.</summary>
    public TimeSpan TrackedSummaryRetention { get; set; } = TimeSpan.FromMinutes(2);
}

public sealed class DeliveryOptionsValidator : IValidateOptions<DeliveryOptions>
{
    /// <summary>Longer waits mean nothing here, and .NET's timers refuse waits past about 49 days.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, DeliveryOptions options)
    {
        var problems = new List<string>();
        if (options.MaxConcurrency is < 1 or > 10_000) problems.Add("Delivery__MaxConcurrency must be 1 to 10000.");
        if (options.MaxQueued is < 0 or > 10_000_000) problems.Add("Delivery__MaxQueued must be 0 (off) to 10000000.");
        // Zero is meaningful for these two: never hold a sender, abandon the queues at once on shutdown.
        if (options.AdmissionTimeout < TimeSpan.Zero || options.AdmissionTimeout > MaxWait) problems.Add($"Delivery__AdmissionTimeout must be 0 to {MaxWait:c}.");
        if (options.DrainTimeout < TimeSpan.Zero || options.DrainTimeout > MaxWait) problems.Add($"Delivery__DrainTimeout must be 0 to {MaxWait:c}.");
        if (options.MaxPostsPerSecond is < 1 or > 1_000_000) problems.Add("Delivery__MaxPostsPerSecond must be 1 to 1000000 (posts per second for the whole cluster).");
        if (options.MaxBatchBytes is < 1024 or > DeliveryOptions.PostLimitBytes) problems.Add($"Delivery__MaxBatchBytes must be 1024 to {DeliveryOptions.PostLimitBytes} (API Gateway's 128 KiB per post).");
        if (options.ThrottledRetryTimeout < TimeSpan.Zero || options.ThrottledRetryTimeout > MaxWait) problems.Add($"Delivery__ThrottledRetryTimeout must be 0 to {MaxWait:c}.");
        if (options.BatchRegistryRefresh <= TimeSpan.Zero || options.BatchRegistryRefresh > MaxWait) problems.Add($"Delivery__BatchRegistryRefresh must be positive and at most {MaxWait:c}.");
        if (options.MaxOutageDelay < TimeSpan.Zero || options.MaxOutageDelay > MaxWait) problems.Add($"Delivery__MaxOutageDelay must be 0 to {MaxWait:c}.");
        if (options.GoneMemory <= TimeSpan.Zero) problems.Add("Delivery__GoneMemory must be positive.");
        if (options.TrackedSummaryRetention <= TimeSpan.Zero) problems.Add("Delivery__TrackedSummaryRetention must be positive.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Paces this silo's sweep checks (GetConnection calls from the sweep buckets it hosts) to
/// <see cref="ConnectionOptions.SweepChecksPerSecond"/>, however many buckets are due at once. Turns are granted in
/// the order they were asked for: a bucket whose timer happens to fire just after each refill cannot take every turn
/// and starve the other buckets on the silo.
/// </summary>
public sealed class SweepLimiter(IOptions<ConnectionOptions> options) : IDisposable
{
    // Each bucket waits for one turn at a time, so waiters are bounded by the buckets on the silo; this is a backstop.
    private const int MaxWaiting = 100_000;

    private readonly TokenBucketRateLimiter _limiter = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = options.Value.SweepChecksPerSecond,
        TokensPerPeriod = options.Value.SweepChecksPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = MaxWaiting,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    });

    /// <summary>Waits for this caller's turn, after every caller that asked earlier. False when too many wait already.</summary>
    public async ValueTask<bool> WaitTurnAsync(CancellationToken cancellationToken)
    {
        using var lease = await _limiter.AcquireAsync(1, cancellationToken);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}

using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Paces this silo's sweep checks (GetConnection calls from the sweep buckets it hosts) to
/// <see cref="ConnectionOptions.SweepChecksPerSecond"/>, however many buckets are due at once. A check never waits
/// for a token: without one, the bucket leaves the rest of its slice for its next one.
/// </summary>
public sealed class SweepLimiter(IOptions<ConnectionOptions> options) : IDisposable
{
    private readonly TokenBucketRateLimiter _limiter = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = options.Value.SweepChecksPerSecond,
        TokensPerPeriod = options.Value.SweepChecksPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    });

    /// <summary>Takes a token if one is free now.</summary>
    public bool TryTakeTurn()
    {
        using var lease = _limiter.AttemptAcquire(1);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}

using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tether.Abstractions;

namespace Tether;

/// <summary>
/// Paces this silo's sweep checks (GetConnection calls) to <see cref="ConnectionOptions.SweepChecksPerSecond"/>.
/// A check never waits for a token (that would hold its connection grain's turn, and the client's messages behind
/// it): without one it is skipped until the connection's next reminder tick.
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

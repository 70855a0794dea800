using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tether.Abstractions;

namespace Tether;

/// <summary>
/// Paces this silo's sweep checks (GetConnection calls) to <see cref="ConnectionOptions.SweepChecksPerSecond"/>.
/// A check that cannot get a turn within its queue simply waits for the connection's next reminder tick.
/// </summary>
public sealed class SweepLimiter(IOptions<ConnectionOptions> options) : IDisposable
{
    private readonly TokenBucketRateLimiter _limiter = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = options.Value.SweepChecksPerSecond,
        TokensPerPeriod = options.Value.SweepChecksPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = options.Value.SweepChecksPerSecond * 60,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    });

    /// <summary>Waits for a turn; false when too many checks are already waiting.</summary>
    public async ValueTask<bool> WaitTurnAsync(CancellationToken cancellationToken)
    {
        using var lease = await _limiter.AcquireAsync(1, cancellationToken);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}

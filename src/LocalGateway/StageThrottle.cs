using Tether.LocalGateway.Template;

namespace Tether.LocalGateway;

/// <summary>
/// The stage's throttling from the template (<c>DefaultRouteSettings.ThrottlingRateLimit</c> and
/// <c>ThrottlingBurstLimit</c>): a token bucket holding <c>burst</c> requests, refilled at <c>rate</c> per second, shared
/// by client messages, connects and Management API calls, as an account's quota is. A request without a token is
/// answered 429 <c>LimitExceededException</c>.
/// </summary>
public sealed class StageThrottle
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private double _tokens;
    private long _refilledAt;

    public StageThrottle(double rate, int burst, TimeProvider? time = null)
    {
        Rate = rate;
        Burst = burst;
        _time = time ?? TimeProvider.System;
        _tokens = burst;
        _refilledAt = _time.GetTimestamp();
    }

    public double Rate { get; }

    public int Burst { get; }

    /// <summary>The template's stage throttling, or null when it sets none (nothing is throttled then).</summary>
    public static StageThrottle? From(GatewayDefinition definition, TimeProvider? time = null) =>
        definition.ThrottlingRateLimit is { } rate
            ? new StageThrottle(rate, definition.ThrottlingBurstLimit ?? (int)Math.Ceiling(rate), time)
            : null;

    /// <summary>Takes a token for one request; false: answer 429.</summary>
    public bool TryTake()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _tokens = Math.Min(Burst, _tokens + _time.GetElapsedTime(_refilledAt, now).TotalSeconds * Rate);
            _refilledAt = now;
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}

namespace Tether.Delivery;

/// <summary>
/// The rate this silo may post at: its share of <c>Delivery__MaxPostsPerSecond</c> is the ceiling; a 429 halves the
/// rate (at most once per <see cref="DecreaseSpacing"/>, since the posts already in flight answer 429 too), and
/// deliveries climb it back by a twentieth of the ceiling per second. Timestamps are <see cref="TimeProvider"/> ticks.
/// </summary>
internal sealed class AimdRate(double ceiling, long frequency)
{
    /// <summary>The rate never falls below this, so a silo keeps probing and recovers without operator action.</summary>
    public const double Floor = 1;

    internal const double DecreaseFactor = 0.5;
    internal const double IncreasePerSecondShare = 1.0 / 20;
    internal static readonly TimeSpan DecreaseSpacing = TimeSpan.FromSeconds(1);

    private long _lastDecrease = long.MinValue;
    private long _lastIncrease = long.MinValue;

    public double Ceiling { get; private set; } = Math.Max(Floor, ceiling);

    public double Current { get; private set; } = Math.Max(Floor, ceiling);

    /// <summary>A new share of the budget (silos joined or left): a lower one applies at once, a higher one is climbed to.</summary>
    public void SetCeiling(double ceiling)
    {
        Ceiling = Math.Max(Floor, ceiling);
        Current = Math.Min(Current, Ceiling);
    }

    /// <summary>A post answered 429. Returns whether the rate was lowered.</summary>
    public bool Throttled(long now)
    {
        if (_lastDecrease != long.MinValue && now - _lastDecrease < DecreaseSpacing.TotalSeconds * frequency) return false;
        _lastDecrease = now;
        _lastIncrease = now;
        Current = Math.Max(Floor, Current * DecreaseFactor);
        return true;
    }

    /// <summary>A post was delivered: climb by the time since the last change, never above the ceiling.</summary>
    public void Delivered(long now)
    {
        if (_lastIncrease == long.MinValue || Current >= Ceiling)
        {
            _lastIncrease = now;
            return;
        }
        var seconds = (double)(now - _lastIncrease) / frequency;
        _lastIncrease = now;
        Current = Math.Min(Ceiling, Current + Ceiling * IncreasePerSecondShare * seconds);
    }
}

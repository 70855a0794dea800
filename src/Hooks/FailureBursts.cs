using Tether.Grains;

namespace Tether.Hooks;

/// <summary>
/// Lets the first failure of a burst be logged and counts the rest, per hook: a dead application fails every call, and
/// one line per call would bury everything else.
/// </summary>
internal sealed class FailureBursts(TimeProvider time)
{
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly Dictionary<HookName, (DateTimeOffset LoggedAt, int Suppressed)> _bursts = [];

    /// <summary>Whether to log this failure now; <paramref name="suppressed"/>: failures not logged since the last line.</summary>
    public bool ShouldLog(HookName hook, out int suppressed)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_bursts.TryGetValue(hook, out var burst) && now - burst.LoggedAt < Quiet)
            {
                _bursts[hook] = burst with { Suppressed = burst.Suppressed + 1 };
                suppressed = 0;
                return false;
            }
            suppressed = burst.Suppressed;
            _bursts[hook] = (now, 0);
            return true;
        }
    }
}

namespace Tether.Contracts;

/// <summary>
/// When the caller of an integration request stops waiting (issue 18 point 5: never "failed" for work that then
/// happens). The API stamps it on its grain calls in Orleans' <see cref="RequestContext"/> (it travels on to the calls
/// those grains make); a grain refuses work it cannot finish by then, bounds its waits by it, and undoes a
/// <c>/connect</c> that finished too late. Unix milliseconds, so it means the same on every silo (clocks in sync).
/// </summary>
public static class CallDeadline
{
    public const string Key = "tether.deadline";

    /// <summary>
    /// Kept between the deadline and the caller's own timeout: the reply's trip back, clock skew and the work after the
    /// last wait (history, the reply). Also what <c>Delivery__AdmissionTimeout</c> must leave below the response timeouts.
    /// </summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(3);

    /// <summary>Stamps the deadline of a call whose caller gives up after <paramref name="callerTimeout"/>; dispose when the call is done.</summary>
    public static IDisposable Begin(TimeProvider time, TimeSpan callerTimeout)
    {
        RequestContext.Set(Key, (time.GetUtcNow() + callerTimeout - Margin).ToUnixTimeMilliseconds());
        return new Stamp();
    }

    /// <summary>Time left before the current call's deadline (negative once passed), or null when the call has none.</summary>
    public static TimeSpan? Remaining(TimeProvider time) =>
        RequestContext.Get(Key) is long deadline
            ? TimeSpan.FromMilliseconds(deadline - time.GetUtcNow().ToUnixTimeMilliseconds())
            : null;

    /// <summary>Whether the current call has a deadline that has passed.</summary>
    public static bool Passed(TimeProvider time) => Remaining(time) is { } left && left <= TimeSpan.Zero;

    /// <summary>Work that outlives the call (a room's presence window) must not inherit its deadline.</summary>
    public static void Forget() => RequestContext.Remove(Key);

    private sealed class Stamp : IDisposable
    {
        public void Dispose() => RequestContext.Remove(Key);
    }
}

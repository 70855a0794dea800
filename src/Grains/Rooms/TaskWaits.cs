namespace Tether.Grains;

internal static class TaskWaits
{
    /// <summary>
    /// Waits for <paramref name="work"/> at most <paramref name="timeout"/>; false when it had not completed by then.
    /// Never throws: a faulted wait counts as ended (a hand-over must not hang on a bug). Continues on the caller's
    /// scheduler (a grain's), so the caller may touch its fields afterwards.
    /// </summary>
    internal static async Task<bool> WithinAsync(Task work, TimeSpan timeout)
    {
        if (!work.IsCompleted && timeout > TimeSpan.Zero)
        {
            await work.WaitAsync(timeout).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        }
        return work.IsCompleted;
    }
}

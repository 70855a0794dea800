using System.Diagnostics;

namespace Tether.Testing;

/// <summary>
/// Retries a check against real processes that become true on their own (a process starts listening, membership
/// notices a death): there is no event to await across a process boundary, so it asks again every 200 ms.
/// </summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<Task> check, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await check();
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                if (clock.Elapsed > timeout) throw new TimeoutException($"Gave up after {timeout.TotalSeconds:0} s waiting for: {what}", e);
            }
            await Task.Delay(200);
        }
    }
}

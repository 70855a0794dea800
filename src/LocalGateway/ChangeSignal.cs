namespace Tether.LocalGateway;

/// <summary>Lets a test wait for a condition that only changes when <see cref="Notify"/> is called: no polling, no sleeps.</summary>
public sealed class ChangeSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = New();

    public void Notify()
    {
        TaskCompletionSource previous;
        lock (_lock)
        {
            previous = _changed;
            _changed = New();
        }
        previous.TrySetResult();
    }

    /// <summary>Completes when <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_lock) changed = _changed.Task;
            if (condition()) return;
            try
            {
                await changed.WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                if (condition()) return;
                throw new TimeoutException($"The condition did not hold within {timeout}.");
            }
        }
    }

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

using System.Collections.Concurrent;
using System.Reflection;

namespace Tether.Hosting;

/// <summary>
/// The calls an Orleans client has in flight, so that those stranded on a silo that died fail as soon as membership
/// declares it dead instead of waiting for the response timeout. A client cannot see which silo a call went to (its
/// gateway forwards it), so a call counts as stranded when it was sent before the dead silo was first suspected and is
/// still unanswered when the death is declared: seconds later, long past any healthy call's answer. Calls that carry
/// their own <c>timeout</c> argument wait by design and are left to it.
/// </summary>
internal sealed class StrandedCalls(TimeProvider time) : IOutgoingGrainCallFilter
{
    private readonly ConcurrentDictionary<long, InFlightCall> _calls = new();
    private long _nextId;

    public int InFlight => _calls.Count;

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (WaitsByDesign(context.InterfaceMethod))
        {
            await context.Invoke();
            return;
        }
        var id = Interlocked.Increment(ref _nextId);
        var call = new InFlightCall(time.GetUtcNow());
        _calls[id] = call;
        try
        {
            var invoke = context.Invoke();
            if (await Task.WhenAny(invoke, call.Stranded.Task) != invoke)
            {
                // The abandoned call ends at the response timeout; observe its fault so it is not reported as unobserved.
                _ = invoke.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                await call.Stranded.Task;
            }
            await invoke;
        }
        finally
        {
            _calls.TryRemove(id, out _);
        }
    }

    /// <summary>Fails every call sent before <paramref name="sentBefore"/> that is still unanswered; returns their number.</summary>
    public int FailSentBefore(DateTimeOffset sentBefore, SiloAddress deadSilo)
    {
        var failed = 0;
        foreach (var call in _calls.Values)
        {
            if (call.SentAt < sentBefore && call.Stranded.TrySetException(new SiloUnavailableException(
                $"The call was in flight when silo {deadSilo} stopped answering; membership has declared it dead."))) failed++;
        }
        return failed;
    }

    private static bool WaitsByDesign(MethodInfo? method) =>
        method?.GetParameters().Any(p => p.ParameterType == typeof(TimeSpan) && p.Name == "timeout") == true;

    private sealed class InFlightCall(DateTimeOffset sentAt)
    {
        public DateTimeOffset SentAt { get; } = sentAt;

        public TaskCompletionSource Stranded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

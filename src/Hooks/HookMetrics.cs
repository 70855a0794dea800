using System.Diagnostics;
using System.Diagnostics.Metrics;
using Tether.Grains;

namespace Tether.Hooks;

/// <summary>The hooks' instruments, on Tether's meter.</summary>
public sealed class HookMetrics
{
    private readonly Counter<long> _calls;
    private readonly Histogram<double> _duration;

    public HookMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MessageMetrics.MeterName);
        _calls = meter.CreateCounter<long>("tether.hooks.calls", "{call}",
            "Calls to the application's hooks, by hook and outcome: ok, refused (the application's 4xx), and the failures " +
            "timeout, error (connection failed, 5xx or another status), malformed (an answer that breaks the rules), " +
            "circuit_open (not called: the hook's breaker is open), dropped (a notification the queue had no room for).");
        _duration = meter.CreateHistogram<double>("tether.hooks.duration", "s", "How long a hook call took, retries included, by hook.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25] });
    }

    public void Called(HookName hook, string outcome, long startTimestamp)
    {
        var name = new KeyValuePair<string, object?>("hook", HooksOptions.WireName(hook));
        _calls.Add(1, name, new KeyValuePair<string, object?>("outcome", outcome));
        _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, name);
    }

    public void Dropped(HookName hook) => _calls.Add(1,
        new KeyValuePair<string, object?>("hook", HooksOptions.WireName(hook)), new KeyValuePair<string, object?>("outcome", "dropped"));
}

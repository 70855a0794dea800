using System.Diagnostics;
using System.Diagnostics.Metrics;
using Tether.Grains;

namespace Tether.Delivery;

/// <summary>The dispatcher's and the Management API client's instruments, on Tether's meter.</summary>
public sealed class DeliveryMetrics
{
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _retries;
    private readonly Histogram<double> _fanOutDuration;
    private readonly UpDownCounter<long> _inFlight;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _refused;

    public DeliveryMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MessageMetrics.MeterName);
        _deliveries = meter.CreateCounter<long>("tether.deliveries", "{delivery}",
            "Posts to one recipient, by final outcome: delivered, gone, throttled, too_large, forbidden, failed.");
        _retries = meter.CreateCounter<long>("tether.management_api.retries", "{retry}",
            "Management API calls retried, by reason: throttled (429), server_error (5xx), timeout, connection_error.");
        _fanOutDuration = meter.CreateHistogram<double>("tether.fanout.duration", "s",
            "From handing a message to the dispatcher until its last recipient's post ended, by target (room, direct).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        _inFlight = meter.CreateUpDownCounter<long>("tether.deliveries.in_flight", "{post}", "Management API posts in flight on this silo.");
        _dropped = meter.CreateCounter<long>("tether.deliveries.dropped", "{delivery}",
            "Posts dropped while the Management API's circuit breaker refused posts, by reason: outage_timeout (waited Delivery__MaxOutageDelay), outage_queue_full (Delivery__MaxQueued were waiting).");
        _refused = meter.CreateCounter<long>("tether.admissions.refused", "{message}",
            "Messages refused (503 overloaded) because this silo's delivery queue stayed over Delivery__MaxQueued for Delivery__AdmissionTimeout.");
    }

    public void Delivery(ManagementOutcome outcome) =>
        _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeLabel(outcome)));

    /// <summary>Called from the retry strategy's <c>OnRetry</c> with the result (or exception) that caused the retry.</summary>
    public void Retried(ManagementResult? result, Exception? exception)
    {
        var reason = exception is not null
            ? exception is HttpRequestException ? "connection_error" : "timeout"
            : result is { Outcome: ManagementOutcome.Throttled } ? "throttled"
            : result is { StatusCode: >= 500 } ? "server_error"
            : "connection_error";
        _retries.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    /// <summary><paramref name="target"/>: <c>room</c> or <c>direct</c>.</summary>
    public void FanOutFinished(string target, long startTimestamp) =>
        _fanOutDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("target", target));

    /// <summary><paramref name="reason"/>: <c>outage_timeout</c> or <c>outage_queue_full</c>.</summary>
    public void Dropped(string reason, int count) => _dropped.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void AdmissionRefused() => _refused.Add(1);

    public void PostStarted() => _inFlight.Add(1);

    public void PostEnded() => _inFlight.Add(-1);

    public static string OutcomeLabel(ManagementOutcome outcome) => outcome switch
    {
        ManagementOutcome.Delivered => "delivered",
        ManagementOutcome.Gone => "gone",
        ManagementOutcome.Throttled => "throttled",
        ManagementOutcome.TooLarge => "too_large",
        ManagementOutcome.Forbidden => "forbidden",
        _ => "failed",
    };
}

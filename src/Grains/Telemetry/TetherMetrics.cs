using System.Diagnostics;
using System.Diagnostics.Metrics;
using Tether.Management;

namespace Tether.Telemetry;

/// <summary>
/// Tether's own instruments (meter <see cref="MeterName"/>). Labels are small fixed sets (outcome, source, target,
/// reason), never connection ids, rooms or users: those would make one time series per connection.
/// </summary>
public sealed class TetherMetrics
{
    public const string MeterName = "Tether";

    private readonly Counter<long> _connected;
    private readonly Counter<long> _disconnected;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _messagesIn;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _retries;
    private readonly Histogram<double> _fanOutDuration;
    private readonly UpDownCounter<long> _inFlight;

    public TetherMetrics(IMeterFactory meterFactory)
    {
        // One meter per service provider (IMeterFactory), so several hosts in one process (tests) stay apart.
        Meter = meterFactory.Create(MeterName);
        _active = Meter.CreateUpDownCounter<long>("tether.connections.active", "{connection}",
            "Connections registered on this silo's grains (connects minus disconnects; sum over silos for the cluster).");
        _connected = Meter.CreateCounter<long>("tether.connections.connected", "{connection}", "Connections accepted by $connect.");
        _disconnected = Meter.CreateCounter<long>("tether.connections.disconnected", "{connection}",
            "Connections removed, by reason: disconnect ($disconnect or DELETE /api/connections/{id}), gone (410 from the Management API).");
        _messagesIn = Meter.CreateCounter<long>("tether.messages.received", "{message}",
            "Messages accepted for delivery, by source (client, api) and target (room, connection, user).");
        _deliveries = Meter.CreateCounter<long>("tether.deliveries", "{delivery}",
            "Posts to one recipient, by final outcome: delivered, gone, throttled, too_large, forbidden, failed.");
        _retries = Meter.CreateCounter<long>("tether.management_api.retries", "{retry}",
            "Management API calls retried, by reason: throttled (429), server_error (5xx), timeout, connection_error.");
        _fanOutDuration = Meter.CreateHistogram<double>("tether.fanout.duration", "s",
            "From handing a message to the dispatcher until its last recipient's post ended, by target (room, direct).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        _inFlight = Meter.CreateUpDownCounter<long>("tether.deliveries.in_flight", "{post}", "Management API posts in flight on this silo.");
    }

    public Meter Meter { get; }

    public void Connected()
    {
        _connected.Add(1);
        _active.Add(1);
    }

    /// <summary><paramref name="reason"/> is <c>disconnect</c>, <c>gone</c>, <c>swept</c> or <c>closed</c>.</summary>
    public void Disconnected(string reason)
    {
        _disconnected.Add(1, new KeyValuePair<string, object?>("reason", reason));
        _active.Add(-1);
    }

    /// <summary><paramref name="source"/>: <c>client</c> or <c>api</c>; <paramref name="target"/>: <c>room</c>, <c>connection</c> or <c>user</c>.</summary>
    public void MessageReceived(string source, string target) =>
        _messagesIn.Add(1, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("target", target));

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

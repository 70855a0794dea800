using System.Collections.Concurrent;

namespace Tether.LocalGateway;

/// <summary>
/// Makes the emulated Management API misbehave on purpose, for tests and benchmarks: a share of posts answered
/// 429 or 500, added latency (with jitter), or a scripted list of statuses for one connection.
/// </summary>
public sealed class FaultInjection
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _scripts = new(StringComparer.Ordinal);

    /// <summary>Share (0–1) of posts answered 429 LimitExceededException.</summary>
    public double ThrottleShare { get; set; }

    /// <summary>Share (0–1) of posts answered 500 InternalServerErrorException.</summary>
    public double ServerErrorShare { get; set; }

    /// <summary>Added to every Management API call.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Up to this much more or less than <see cref="Latency"/>, uniformly, per call.</summary>
    public TimeSpan LatencyJitter { get; set; }

    /// <summary>Retry-After (seconds) sent with injected 429s; null sends none.</summary>
    public int? RetryAfterSeconds { get; set; }

    /// <summary>The next calls for <paramref name="connectionId"/> answer these statuses in turn, then behave normally.</summary>
    public void Script(string connectionId, params int[] statuses) =>
        _scripts[connectionId] = new ConcurrentQueue<int>(statuses);

    public void Reset()
    {
        _scripts.Clear();
        ThrottleShare = 0;
        ServerErrorShare = 0;
        Latency = TimeSpan.Zero;
        LatencyJitter = TimeSpan.Zero;
        RetryAfterSeconds = null;
    }

    /// <summary>The latency to add to the next call, if any.</summary>
    internal TimeSpan? NextLatency()
    {
        if (Latency <= TimeSpan.Zero && LatencyJitter <= TimeSpan.Zero) return null;
        var jitter = (Random.Shared.NextDouble() * 2 - 1) * LatencyJitter.TotalMilliseconds;
        var latency = TimeSpan.FromMilliseconds(Math.Max(0, Latency.TotalMilliseconds + jitter));
        return latency > TimeSpan.Zero ? latency : null;
    }

    /// <summary>The status to answer instead of the normal one, if any.</summary>
    internal int? Next(string connectionId)
    {
        if (_scripts.TryGetValue(connectionId, out var script) && script.TryDequeue(out var scripted)) return scripted;
        if (ThrottleShare <= 0 && ServerErrorShare <= 0) return null;
        var roll = Random.Shared.NextDouble();
        if (roll < ThrottleShare) return 429;
        if (roll < ThrottleShare + ServerErrorShare) return 500;
        return null;
    }
}

using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Tether.Grains;

namespace Tether.Hooks;

/// <summary>
/// Sends disconnect notifications in the background, a few at a time, each retried with backoff by its pipeline, so
/// a removal never waits for the application. Notifications still queued when the process stops are not sent.
/// </summary>
internal sealed class DisconnectNotifications(HookClient client, HookMetrics metrics, HookFailureLog failures) : BackgroundService
{
    /// <summary>Notifications waiting at most; past it new ones are dropped and counted.</summary>
    public const int Capacity = 10_000;

    public const int MaxConcurrentSends = 8;

    private readonly Channel<(HookName Hook, byte[] Body)> _queue =
        Channel.CreateBounded<(HookName, byte[])>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait });

    public bool TryQueue(HookName hook, byte[] body) => _queue.Writer.TryWrite((hook, body));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Parallel.ForEachAsync(_queue.Reader.ReadAllAsync(stoppingToken),
            new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentSends, CancellationToken = stoppingToken },
            async (item, token) =>
            {
                var started = Stopwatch.GetTimestamp();
                var call = await client.SendAsync(item.Hook, item.Body, token).ConfigureAwait(false);
                metrics.Called(item.Hook, call.MetricLabel, started);
                // Whatever the application answers is fine; only a call that never got an answer is a failure.
                if (call.Outcome is not (HookCallOutcome.Answered or HookCallOutcome.Refused or HookCallOutcome.Malformed))
                {
                    failures.Failed(item.Hook, call);
                }
            });
}

using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Tether.Api.Hosting;
using Tether.Contracts;

namespace Tether.Api.Integration;

/// <summary>
/// API Gateway sends <c>$disconnect</c> once and ignores the answer. A disconnect the cluster could not take (its
/// storage or a silo unreachable), or the undo of a <c>/connect</c> answered 503, is kept here and tried again with
/// back-off, so an outage does not leave connections stored as connected once it ends. Bounded in count and age; what
/// it drops is left to the sweep.
/// </summary>
internal sealed partial class PendingDisconnects(IGrainFactory grains, TimeProvider time, ILogger<PendingDisconnects> logger) : BackgroundService
{
    /// <summary>At most this many disconnects wait (a few MB); beyond, the sweep finds the connections later.</summary>
    public const int Capacity = 10_000;

    /// <summary>A disconnect still failing after this long is given up to the sweep.</summary>
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    /// <summary>Keeps a disconnect that failed for another try; false when the queue is full (the sweep is left).</summary>
    public bool TryAdd(string connectionId, string reason)
    {
        var added = _queue.Writer.TryWrite(new Pending(connectionId, reason, time.GetUtcNow()));
        if (!added) LogDropped(connectionId);
        return added;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        await foreach (var pending in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await grains.Connection(pending.ConnectionId).Disconnect(pending.Reason);
                failures = 0;
                LogRetried(pending.ConnectionId);
                continue;
            }
            catch (Exception e) when (ClusterFailures.IsUnavailable(e))
            {
                failures++;
            }
            if (time.GetUtcNow() - pending.FirstFailedAt > GiveUpAfter)
            {
                LogGaveUp(pending.ConnectionId);
                continue;
            }
            // The cluster is still failing: wait before the next try, whichever disconnect it is for.
            var delay = TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, FirstDelay.Ticks << Math.Min(failures - 1, 5)));
            await Task.Delay(delay, time, stoppingToken);
            if (!_queue.Writer.TryWrite(pending)) LogDropped(pending.ConnectionId);
        }
    }

    private sealed record Pending(string ConnectionId, string Reason, DateTimeOffset FirstFailedAt);

    [LoggerMessage(EventId = 3040, EventName = "DisconnectRetried", Level = LogLevel.Information,
        Message = "Disconnect of {ConnectionId} taken by the cluster on a later try")]
    private partial void LogRetried(string connectionId);

    [LoggerMessage(EventId = 3041, EventName = "DisconnectGivenUp", Level = LogLevel.Warning,
        Message = "Disconnect of {ConnectionId} still failing after retries; the sweep will remove the connection")]
    private partial void LogGaveUp(string connectionId);

    [LoggerMessage(EventId = 3042, EventName = "DisconnectDropped", Level = LogLevel.Warning,
        Message = "Too many disconnects waiting for the cluster; {ConnectionId} is left to the sweep")]
    private partial void LogDropped(string connectionId);
}

internal static class PendingDisconnectsExtensions
{
    public static IServiceCollection AddPendingDisconnects(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<PendingDisconnects>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingDisconnects>());
        return services;
    }
}

using Microsoft.Extensions.Logging;
using Tether.Delivery;

namespace Tether.Hosting;

/// <summary>
/// Splits <c>Delivery__MaxPostsPerSecond</c> over the silos that cluster membership lists as active, and again each
/// time one joins or leaves (a silo declared dead stops counting once membership says so).
/// </summary>
internal sealed partial class PostBudgetSplit(
    DeliveryDispatcher dispatcher, IClusterMembershipService membership, ILogger<PostBudgetSplit> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _watching = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PostBudgetSplit), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        Apply(membership.CurrentSnapshot);
        _watching = Task.Run(WatchAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _watching.ConfigureAwait(false);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task WatchAsync()
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(_stopping.Token).ConfigureAwait(false)) Apply(snapshot);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Apply(ClusterMembershipSnapshot snapshot)
    {
        var active = snapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
        var before = dispatcher.PostShare;
        dispatcher.SetActiveSilos(active);
        if (Math.Abs(before - dispatcher.PostShare) > 0.5) LogSplit(active, dispatcher.PostShare);
    }

    [LoggerMessage(EventId = 4040, EventName = "PostBudgetSplit", Level = LogLevel.Information,
        Message = "{Silos} active silos: this silo may post {Share:F0} posts/s")]
    private partial void LogSplit(int silos, double share);
}

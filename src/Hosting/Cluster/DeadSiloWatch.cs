using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Messaging;

namespace Tether.Hosting;

/// <summary>
/// On an API node, reads the membership table every <see cref="PollInterval"/> and, when a silo is newly declared
/// dead, fails the calls <see cref="StrandedCalls"/> finds stranded on it. Orleans does this itself between silos, but
/// not for a client's calls that a gateway forwarded to the dead silo: those waited for the whole response timeout.
/// </summary>
internal sealed partial class DeadSiloWatch(
    IMembershipTable membership, IGatewayListProvider gateways, StrandedCalls calls, TimeProvider time, ILogger<DeadSiloWatch> logger)
    : BackgroundService
{
    /// <summary>How soon a declared death is noticed; one small Redis read each time.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        HashSet<SiloAddress>? known = null;
        using var timer = new PeriodicTimer(PollInterval, time);
        do
        {
            try
            {
                // Reading the gateways first initializes the table the clustering provider shares, if the client has not yet.
                if (known is null) await gateways.GetGateways();
                var dead = (await membership.ReadAllAsync(stoppingToken)).Members.Select(m => m.Item1).Where(e => e.Status == SiloStatus.Dead).ToList();
                // Deaths already recorded when this node started stranded none of its calls.
                if (known is not null)
                {
                    foreach (var entry in dead.Where(e => !known.Contains(e.SiloAddress))) FailStranded(entry);
                }
                known = [.. dead.Select(e => e.SiloAddress)];
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReadFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private void FailStranded(MembershipEntry entry)
    {
        // The first suspicion came a probe timeout or more after the silo stopped answering: every call sent to it
        // before then, and not answered since, is stranded. Calls sent after it were refused at once.
        var suspected = entry.SuspectTimes is { Count: > 0 } votes
            ? new DateTimeOffset(DateTime.SpecifyKind(votes.Min(v => v.Item2), DateTimeKind.Utc))
            : time.GetUtcNow();
        var failed = calls.FailSentBefore(suspected, entry.SiloAddress);
        LogDeclaredDead(entry.SiloAddress, failed);
    }
}

using Microsoft.Extensions.DependencyInjection;
using Tether.Delivery;

namespace Tether.Tests.Grains;

/// <summary><c>Delivery__MaxPostsPerSecond</c> is the cluster's: each live silo posts at its share, re-split as silos come and go.</summary>
[Collection(BudgetClusterTests.Name)]
public sealed class PostBudgetSplitTests(BudgetClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_budget_is_split_over_the_live_silos_and_split_again_when_one_joins_and_leaves()
    {
        await EachSiloSharesAsync(fixture.Cluster.Silos, BudgetClusterFixture.Budget / 2.0);

        var joined = await fixture.Cluster.StartAdditionalSiloAsync();
        try
        {
            await EachSiloSharesAsync(fixture.Cluster.Silos, BudgetClusterFixture.Budget / 3.0);
        }
        finally
        {
            await fixture.Cluster.StopSiloAsync(joined);
        }

        await EachSiloSharesAsync(fixture.Cluster.Silos, BudgetClusterFixture.Budget / 2.0);
    }

    /// <summary>Membership reaches each silo in its own time: wait until every one has applied the split.</summary>
    private static async Task EachSiloSharesAsync(IEnumerable<Orleans.TestingHost.InProcessSiloHandle> silos, double share)
    {
        var dispatchers = silos.Select(s => s.ServiceProvider.GetRequiredService<DeliveryDispatcher>()).ToList();
        var deadline = DateTime.UtcNow + Patience;
        while (!dispatchers.TrueForAll(d => Math.Abs(d.PostShare - share) < 0.01))
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"shares {string.Join(", ", dispatchers.Select(d => d.PostShare.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}, expected {share:F1} on each of {dispatchers.Count}");
            await Task.Delay(50);
        }
    }
}

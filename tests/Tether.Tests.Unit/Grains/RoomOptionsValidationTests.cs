using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tether.Contracts;
using Tether.Hosting;

namespace Tether.Tests.Grains;

/// <summary>The hand-over settings are checked at start, like the other room settings.</summary>
public sealed class RoomOptionsValidationTests
{
    private static RoomOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        using var provider = new ServiceCollection().AddTetherOptions(configuration).BuildServiceProvider();
        return provider.GetRequiredService<IOptions<RoomOptions>>().Value;
    }

    [Fact]
    public void The_defaults_hold_thirty_seconds_and_sixteen_mebibytes()
    {
        var options = Bind();
        Assert.Equal((TimeSpan.FromSeconds(30), 16L * 1024 * 1024), (options.ShardHandOverTimeout, options.ShardHandOverMaxDeferredBytes));
    }

    [Theory]
    [InlineData("Rooms:ShardHandOverTimeout", "00:00:00", "Rooms__ShardHandOverTimeout")]
    [InlineData("Rooms:ShardHandOverTimeout", "-00:00:01", "Rooms__ShardHandOverTimeout")]
    [InlineData("Rooms:ShardHandOverTimeout", "00:05:01", "Rooms__ShardHandOverTimeout")]
    [InlineData("Rooms:ShardHandOverMaxDeferredBytes", "-1", "Rooms__ShardHandOverMaxDeferredBytes")]
    public void Bad_hand_over_settings_are_refused_with_their_name(string key, string value, string named)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Bind((key, value)));
        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_longest_hand_over_timeout_is_accepted()
    {
        Assert.Equal(RoomShards.MaxHandOverTimeout, Bind(("Rooms:ShardHandOverTimeout", "00:05:00")).ShardHandOverTimeout);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1001")]
    public void A_rebalance_pace_outside_0_to_1000_is_refused_with_its_name(string value)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Bind(("Rooms:RebalanceMovesPerSecond", value)));
        Assert.Contains("Rooms__RebalanceMovesPerSecond", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rebalancing_moves_ten_shards_a_second_by_default_and_zero_turns_it_off()
    {
        Assert.Equal(RoomOptions.DefaultRebalanceMovesPerSecond, Bind().RebalanceMovesPerSecond);
        Assert.Equal(10, RoomOptions.DefaultRebalanceMovesPerSecond);
        Assert.Equal(0, Bind(("Rooms:RebalanceMovesPerSecond", "0")).RebalanceMovesPerSecond);
    }
}

using Tether.Hooks;

namespace Tether.Tests.Hooks;

public sealed class FailureBurstsTests
{
    [Fact]
    public void The_first_failure_of_a_burst_is_logged_and_the_next_line_counts_the_rest()
    {
        var time = new ManualTime();
        var bursts = new FailureBursts(time);

        Assert.True(bursts.ShouldLog(HookName.Publish, out var first));
        Assert.False(bursts.ShouldLog(HookName.Publish, out _));
        Assert.False(bursts.ShouldLog(HookName.Publish, out _));
        Assert.True(bursts.ShouldLog(HookName.Join, out _));
        time.Advance(FailureBursts.Quiet);
        Assert.True(bursts.ShouldLog(HookName.Publish, out var later));

        Assert.Equal((0, 2), (first, later));
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}

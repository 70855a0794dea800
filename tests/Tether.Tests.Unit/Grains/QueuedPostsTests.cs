namespace Tether.Tests.Grains;

/// <summary>What a shard taking members over waits for: every post its predecessor queued before it asked.</summary>
public sealed class QueuedPostsTests
{
    // Continuations run inside SetResult, so a job has left the set when SetResult returns: no waiting in the test.
    private static TaskCompletionSource Job() => new();

    [Fact]
    public async Task All_ended_waits_for_every_earlier_job_not_only_the_latest_and_not_for_later_ones()
    {
        var posts = new QueuedPosts();
        Assert.True(posts.AllEnded().IsCompleted);

        // An earlier message still running (for a sender left out of the next one with echo:false), then a later one
        // that ends first.
        var earlier = Job();
        var latest = Job();
        posts.Add(earlier.Task);
        posts.Add(latest.Task);
        var handOver = posts.AllEnded();
        latest.SetResult();
        Assert.False(handOver.IsCompleted);

        // Posts queued after the question are not waited for.
        var later = Job();
        posts.Add(later.Task);
        earlier.SetResult();
        await handOver.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(posts.AllEnded().IsCompleted);

        later.SetResult();
        await posts.AllEnded().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Ended_jobs_are_forgotten_so_a_busy_room_does_not_accumulate_them()
    {
        var posts = new QueuedPosts();
        var running = Job();
        posts.Add(running.Task);
        for (var i = 0; i < 1000; i++)
        {
            var job = Job();
            posts.Add(job.Task);
            job.SetResult();
        }
        // Only the one still running is waited for (and held): ended ones left the set.
        Assert.Equal(1, posts.Running);
        running.SetResult();
        await posts.AllEnded().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, posts.Running);
    }
}

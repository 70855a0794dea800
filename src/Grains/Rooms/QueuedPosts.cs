using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// The posts a grain has handed to its silo's dispatcher and not yet seen end, so that whoever posts to the same
/// recipients next from another silo can wait for them: a shard taking over some of a room's or shard's members
/// (<see cref="IRoomShardGrain.HandOver"/>), a connection grain's next activation after the leaving one.
/// <para>
/// Every job is kept, not only the latest: one job's end covers only its own recipients' earlier posts, and a sender
/// publishing with <c>echo:false</c> is left out of its own message, while its previous one may still be queued for it.
/// A set of running jobs, rather than a chain of <c>Task.WhenAll</c>, because a busy room always has a job running, and
/// such a chain would then never collapse and grow by one link per message.
/// </para>
/// </summary>
internal sealed class QueuedPosts
{
    // Dispatch jobs end on the dispatcher's workers, outside the grain's scheduler.
    private readonly Lock _lock = new();
    private readonly HashSet<Task> _running = [];

    public void Add(Task ended)
    {
        if (ended.IsCompleted) return;
        lock (_lock) _running.Add(ended);
        ended.ContinueWith(static (task, posts) => ((QueuedPosts)posts!).Ended(task), this,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Jobs not yet ended.</summary>
    public int Running
    {
        get
        {
            lock (_lock) return _running.Count;
        }
    }

    /// <summary>Completes when every post queued before this call has ended (later ones are not waited for).</summary>
    public Task AllEnded()
    {
        lock (_lock) return _running.Count == 0 ? Task.CompletedTask : Task.WhenAll([.. _running]);
    }

    private void Ended(Task task)
    {
        lock (_lock) _running.Remove(task);
    }
}

namespace Tether.Grains;

/// <summary>
/// A reader/writer gate for one reentrant grain activation (all its code runs on the activation's scheduler, one
/// piece at a time, so plain fields suffice). Shared holders run interleaved; an exclusive holder runs alone. Waiters
/// are served in arrival order, so a waiting exclusive holder is not starved by a stream of shared ones.
/// </summary>
internal sealed class RoomGate
{
    private readonly Queue<(bool Exclusive, TaskCompletionSource Ready)> _waiting = new();
    private int _shared;
    private bool _exclusive;

    public ValueTask<Releaser> EnterAsync(bool exclusive) => exclusive ? ExclusiveAsync() : SharedAsync();

    public async ValueTask<Releaser> SharedAsync()
    {
        if (!_exclusive && _waiting.Count == 0)
        {
            _shared++;
        }
        else
        {
            await Enqueue(exclusive: false);
        }
        return new Releaser(this, exclusive: false);
    }

    public async ValueTask<Releaser> ExclusiveAsync()
    {
        if (!_exclusive && _shared == 0 && _waiting.Count == 0)
        {
            _exclusive = true;
        }
        else
        {
            await Enqueue(exclusive: true);
        }
        return new Releaser(this, exclusive: true);
    }

    private Task Enqueue(bool exclusive)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting.Enqueue((exclusive, ready));
        return ready.Task;
    }

    private void Release(bool exclusive)
    {
        if (exclusive) _exclusive = false;
        else _shared--;

        while (_waiting.TryPeek(out var next))
        {
            if (next.Exclusive)
            {
                if (_shared > 0 || _exclusive) return;
                _waiting.Dequeue();
                _exclusive = true;
                next.Ready.SetResult();
                return;
            }
            if (_exclusive) return;
            _waiting.Dequeue();
            _shared++;
            next.Ready.SetResult();
        }
    }

    public readonly struct Releaser(RoomGate gate, bool exclusive) : IDisposable
    {
        public void Dispose() => gate.Release(exclusive);
    }
}

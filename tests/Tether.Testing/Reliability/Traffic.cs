using System.Text.Json.Nodes;
using Tether.LocalGateway;

namespace Tether.Testing.Reliability;

/// <summary>A message the server acknowledged: the <c>sent</c> reply's seq, epoch and id.</summary>
public sealed record Acknowledged(string Room, long Seq, string Epoch, string Id, string RequestId);

/// <summary>
/// Continuous traffic from some clients to several rooms, half of it to the first (the busiest), each sender one
/// message at a time and each message retried with its <c>requestId</c> until acknowledged. Bounded: it stops by
/// itself after <paramref name="limit"/> messages.
/// </summary>
public sealed class Traffic : IDisposable
{
    private readonly IReadOnlyList<string> _rooms;
    private readonly int _limit;
    private readonly CancellationTokenSource _stop = new();
    private readonly ChangeSignal _signal = new();
    private readonly List<Acknowledged> _acknowledged = [];
    private readonly List<string> _mismatches = [];
    private int _sent;

    public Traffic(IReadOnlyList<ResumingClient> senders, IReadOnlyList<string> rooms, int limit)
    {
        _rooms = rooms;
        _limit = limit;
        Completion = Task.WhenAll(senders.Select(RunAsync));
    }

    public Task Completion { get; }

    /// <summary>Messages a sender started on (each with its own requestId, however often it was sent).</summary>
    public int Sent => Volatile.Read(ref _sent);

    public IReadOnlyList<Acknowledged> Acknowledged
    {
        get { lock (_acknowledged) return [.. _acknowledged]; }
    }

    /// <summary><c>sent</c> replies that did not echo the requestId they answered.</summary>
    public IReadOnlyList<string> Mismatches
    {
        get { lock (_acknowledged) return [.. _mismatches]; }
    }

    public Task WaitForAcknowledgedAsync(Func<IReadOnlyList<Acknowledged>, bool> condition, TimeSpan timeout) =>
        _signal.WaitUntilAsync(() => Completion.IsFaulted || condition(Acknowledged), timeout).ContinueWith(t =>
        {
            t.GetAwaiter().GetResult();
            if (Completion.IsFaulted) Completion.GetAwaiter().GetResult();
        }, TaskScheduler.Default);

    /// <summary>Stops after each sender's current message and waits for that.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Completion;
    }

    private async Task RunAsync(ResumingClient sender)
    {
        await Task.Yield();
        for (var n = 0; !_stop.IsCancellationRequested; n++)
        {
            if (Interlocked.Increment(ref _sent) > _limit)
            {
                Interlocked.Decrement(ref _sent);
                return;
            }
            var room = n % 2 == 0 ? _rooms[0] : _rooms[1 + (n / 2 % (_rooms.Count - 1))];
            var requestId = $"{sender.Name}-{n}";
            var reply = await sender.SendAsync(room, requestId, $"{requestId} to {room}");
            lock (_acknowledged)
            {
                if (reply["requestId"]?.GetValue<string>() != requestId) _mismatches.Add($"{requestId}: {reply.ToJsonString()}");
                _acknowledged.Add(new Acknowledged(room, reply["seq"]!.GetValue<long>(), reply["epoch"]!.GetValue<string>(),
                    reply["id"]!.GetValue<string>(), requestId));
            }
            _signal.Notify();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}

namespace Tether.Testing.Reliability;

/// <summary>A message of a room as a client holds it: its place in the room's stream and the id the server gave it.</summary>
public sealed record HeldMessage(long Seq, string Id);

/// <summary>
/// What a resuming client keeps for one room (contract §7): the epoch, the last seq it holds without a hole, the
/// messages that came past a hole (held until it is filled) and, in seq order, every message it handed to the
/// application. Duplicates are dropped here, as the JavaScript client drops them; they are counted, and one that
/// the last resume did not ask for again is a server fault the tests report.
/// </summary>
public sealed class StreamLog(string room, string epoch, long joinedAt)
{
    private readonly SortedDictionary<long, HeldMessage> _pastHole = [];
    private readonly List<HeldMessage> _delivered = [];
    private readonly Dictionary<long, string> _idBySeq = [];
    private HashSet<long> _askedAgain = [];

    public string Room { get; } = room;

    public string Epoch { get; } = epoch;

    /// <summary>The seq this client started from (its first join); it holds nothing of the room at or before it.</summary>
    public long JoinedAt { get; } = joinedAt;

    /// <summary>The last seq held with every earlier one (after <see cref="JoinedAt"/>): what a resume names.</summary>
    public long Last { get; private set; } = joinedAt;

    /// <summary>Envelopes received for this room, duplicates included.</summary>
    public int Received { get; private set; }

    /// <summary>Duplicates that the last resume asked for again (the client held them past a hole): expected, dropped.</summary>
    public int ExpectedDuplicates { get; private set; }

    /// <summary>Messages nobody asked for: a second copy the last resume did not request, or one from before the join.</summary>
    public List<long> Unasked { get; } = [];

    /// <summary>Two different messages with one seq: the server reused a seq.</summary>
    public List<string> Conflicts { get; } = [];

    /// <summary>Envelopes of another epoch than the one this client follows.</summary>
    public List<string> ForeignEpochs { get; } = [];

    /// <summary>Resumes of this room answered <c>recovered:false</c>.</summary>
    public int Unrecovered { get; private set; }

    /// <summary>Every hole this client saw open in the live stream (a seq arriving past a missing one).</summary>
    public int HolesSeen { get; private set; }

    public IReadOnlyList<HeldMessage> Delivered => _delivered;

    public bool HasHole => _pastHole.Count > 0;

    /// <summary>Takes one envelope of this room.</summary>
    public void Accept(string epoch, long seq, string id)
    {
        Received++;
        if (!string.Equals(epoch, Epoch, StringComparison.Ordinal))
        {
            ForeignEpochs.Add($"{epoch}:{seq}");
            return;
        }
        if (_idBySeq.TryGetValue(seq, out var known))
        {
            if (!string.Equals(known, id, StringComparison.Ordinal)) Conflicts.Add($"seq {seq}: {known} and {id}");
            else if (_askedAgain.Contains(seq)) ExpectedDuplicates++;
            else Unasked.Add(seq);
            return;
        }
        if (seq <= JoinedAt)
        {
            Unasked.Add(seq);
            return;
        }
        _idBySeq[seq] = id;
        var message = new HeldMessage(seq, id);
        if (seq != Last + 1)
        {
            if (_pastHole.Count == 0) HolesSeen++;
            _pastHole[seq] = message;
            return;
        }
        _delivered.Add(message);
        Last = seq;
        while (_pastHole.Remove(Last + 1, out var next))
        {
            _delivered.Add(next);
            Last = next.Seq;
        }
    }

    /// <summary>Before a resume names <see cref="Last"/>: what is held past it will come again and is then no duplicate to blame.</summary>
    public void Resuming() => _askedAgain = [.. _pastHole.Keys];

    /// <summary>
    /// The room's answer to a resume. <c>recovered:false</c> means this stream cannot be continued (the tests that
    /// expect continuity fail on it); the client keeps its epoch so that nothing of the new one is taken for the old.
    /// </summary>
    public void Resumed(bool recovered)
    {
        if (!recovered) Unrecovered++;
    }
}

namespace Tether.Testing.Reliability;

/// <summary>
/// Checks what resuming clients hold against what the server acknowledged: for every client and room, every
/// acknowledged message exactly once, in seq order, without a gap, in the epoch it was acknowledged in, and nothing
/// the client did not ask for. <see cref="Counts"/> is the line the tests print.
/// </summary>
public sealed class Holdings
{
    private Holdings(List<string> problems, string counts)
    {
        Problems = problems;
        Counts = counts;
    }

    public IReadOnlyList<string> Problems { get; }

    public string Counts { get; }

    /// <summary>The highest acknowledged seq of each room: what every member must hold at least up to.</summary>
    public static Dictionary<string, long> Latest(IEnumerable<Acknowledged> acknowledged) =>
        acknowledged.GroupBy(a => a.Room, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Max(a => a.Seq), StringComparer.Ordinal);

    /// <summary>Whether the client holds every room up to its latest acknowledged seq, with no hole left.</summary>
    public static bool CaughtUp(ResumingClient client, Dictionary<string, long> latest) =>
        client.Rooms.All(log => !log.HasHole && log.Last >= latest.GetValueOrDefault(log.Room));

    public static Holdings Check(IReadOnlyList<ResumingClient> clients, Traffic traffic)
    {
        var acknowledged = traffic.Acknowledged;
        var problems = new List<string>(traffic.Mismatches.Select(m => "requestId not echoed: " + m));
        foreach (var room in acknowledged.GroupBy(a => a.Room, StringComparer.Ordinal))
        {
            foreach (var reused in room.GroupBy(a => a.Seq).Where(g => g.Select(a => a.Id).Distinct().Count() > 1))
            {
                problems.Add($"{room.Key}: seq {reused.Key} acknowledged for different messages: {string.Join(", ", reused.Select(a => a.RequestId))}");
            }
            foreach (var twice in room.GroupBy(a => a.Id).Where(g => g.Count() > 1))
            {
                problems.Add($"{room.Key}: message {twice.Key} acknowledged for {string.Join(", ", twice.Select(a => a.RequestId))}");
            }
        }

        foreach (var client in clients)
        {
            foreach (var log in client.Rooms)
            {
                var where = $"{client.Name} in {log.Room}";
                var held = log.Delivered.ToDictionary(m => m.Seq, m => m.Id);
                var expectedSeqs = Enumerable.Range(0, log.Delivered.Count).Select(i => log.JoinedAt + 1 + i);
                if (!log.Delivered.Select(m => m.Seq).SequenceEqual(expectedSeqs)) problems.Add($"{where}: not in seq order without gaps from {log.JoinedAt + 1}");
                if (log.HasHole) problems.Add($"{where}: a hole remains after seq {log.Last}");
                if (log.Unrecovered > 0) problems.Add($"{where}: {log.Unrecovered} resumes answered recovered:false");
                if (log.Unasked.Count > 0) problems.Add($"{where}: received messages it did not ask for (again): seq {string.Join(",", log.Unasked.Take(20))}");
                if (log.Conflicts.Count > 0) problems.Add($"{where}: one seq for two messages: {string.Join("; ", log.Conflicts.Take(5))}");
                if (log.ForeignEpochs.Count > 0) problems.Add($"{where}: envelopes of another epoch than {log.Epoch}: {string.Join(",", log.ForeignEpochs.Take(10))}");
                foreach (var ack in acknowledged.Where(a => a.Room == log.Room))
                {
                    if (ack.Epoch != log.Epoch) problems.Add($"{where}: {ack.RequestId} acknowledged in epoch {ack.Epoch}, the client follows {log.Epoch}");
                    else if (!held.TryGetValue(ack.Seq, out var id)) problems.Add($"{where}: acknowledged {ack.RequestId} (seq {ack.Seq}) is missing (holds up to {log.Last})");
                    else if (id != ack.Id) problems.Add($"{where}: seq {ack.Seq} is {id}, acknowledged as {ack.Id} ({ack.RequestId})");
                }
            }
        }

        var logs = clients.SelectMany(c => c.Rooms).ToList();
        var gaps = logs.Count(l => l.HasHole) + logs.Sum(l => l.Unrecovered);
        var counts = $"messages sent {traffic.Sent}, acknowledged {acknowledged.Count}, received {logs.Sum(l => l.Received)} envelopes "
            + $"({logs.Sum(l => l.Delivered.Count)} held by {clients.Count} clients over {logs.Select(l => l.Room).Distinct().Count()} rooms), "
            + $"replayed {clients.Sum(c => c.Replayed)}, duplicates dropped {logs.Sum(l => l.ExpectedDuplicates)}, "
            + $"holes seen live {logs.Sum(l => l.HolesSeen)}, gaps: {gaps}, send retries {clients.Sum(c => c.Retries)}, "
            + $"connections {clients.Sum(c => c.Connections)} ({clients.Sum(c => c.Cuts)} cut by the server)";
        return new Holdings(problems, counts);
    }
}

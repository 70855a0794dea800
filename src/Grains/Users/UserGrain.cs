using Microsoft.Extensions.Options;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>A user's connections, and the user's message stream (seq, epoch, history: contract §7).</summary>
[GrainType(TetherGrainTypes.User)]
public sealed class UserGrain(
    [PersistentState(StoredRecipients.UserStateName, TetherStorage.Name)] IPersistentState<UserState> state,
    IDeliveryDispatcher dispatcher,
    IHistoryStore history,
    IOptions<HistoryOptions> historyOptions,
    TimeProvider time) : Grain, IUserGrain, IIncomingGrainCallFilter
{
    private readonly StoredState<UserState> _stored = new(state);
    private Outbox? _outbox;
    private MessageStream? _stream;

    private HashSet<string> Connections => _stored.State.Connections;

    private Outbox Direct => _outbox ??= Outbox.ForUser(dispatcher, this.GetPrimaryKeyString());

    // Opened at the first message or resume: most users never get a message, and need no history round trip.
    private MessageStream Stream => _stream ??= new MessageStream(HistoryStreams.User(this.GetPrimaryKeyString()), history, historyOptions.Value, time, PostAsync);

    public Task AddConnection(string connectionId) => _stored.ChangeAsync(s => s.Connections.Add(connectionId));

    public async Task RemoveConnection(string connectionId)
    {
        if (!Connections.Contains(connectionId)) return;
        if (Connections.Count == 1)
        {
            await _stored.ClearAsync();
            Connections.Clear();
        }
        else
        {
            await _stored.ChangeAsync(s => s.Connections.Remove(connectionId));
        }
    }

    /// <summary>Every call first brings memory back to storage if a failed write left it unsure (see <see cref="StoredState{T}"/>).</summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await _stored.RefreshAsync();
        await context.Invoke();
    }

    public async Task<int> Deliver(OutboundMessage message) => (await Publish(message, requestId: null)).Recipients;

    public async Task<PublishReceipt> Publish(OutboundMessage message, string? requestId)
    {
        // No connection, no stream message: the sender hears there is nobody, as before there were streams.
        if (Connections.Count == 0) return new PublishReceipt(message.Id, 0);
        // Before the message is accepted: a refused one (OverloadedException) is neither in the history nor posted.
        await Direct.AdmitAsync();
        return await Stream.AcceptAsync(message, except: null, track: false, requestId, Connections.Count);
    }

    public async Task<StreamResume> CatchUp(string connectionId, StreamPosition since)
    {
        var (resume, replay) = await Stream.ReplayFromAsync(since);
        // The user's own outbox: the dispatcher keeps these ahead of the user's next posts to this connection. Not
        // admitted, as a room's replay is not: accepted messages, at most History__Size of them.
        foreach (var message in replay) Direct.Post(message, [connectionId]);
        return resume;
    }

    public Task<IReadOnlyList<string>> GetConnections() =>
        Task.FromResult<IReadOnlyList<string>>([.. Connections.Order(StringComparer.Ordinal)]);

    private Task<int[]> PostAsync(IReadOnlyList<Sequenced> group)
    {
        var counts = new int[group.Count];
        // Admitted in Publish, before they were accepted.
        for (var i = 0; i < group.Count; i++) counts[i] = Direct.Post(group[i].Message, Connections);
        return Task.FromResult(counts);
    }
}

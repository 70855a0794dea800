using Microsoft.Extensions.Options;
using Tether.Abstractions;
using Tether.Delivery;

namespace Tether;

public sealed class RoomGrain(
    [PersistentState("room", TetherStorage.Name)] IPersistentState<RoomState> state,
    IDeliveryDispatcher dispatcher,
    IOptions<RoomOptions> roomOptions,
    IOptions<LimitOptions> limitOptions) : Grain, IRoomGrain
{
    private readonly RoomOptions _options = roomOptions.Value;
    private readonly int _maxMembers = limitOptions.Value.MaxMembersPerRoom;
    private HashSet<string> Members => state.State.Members;
    private string Name => this.GetPrimaryKeyString();

    public async Task<int> Join(string connectionId, string? user)
    {
        if (_maxMembers > 0 && Members.Count >= _maxMembers && !Members.Contains(connectionId)) return IRoomGrain.Full;
        if (Members.Add(connectionId))
        {
            await state.WriteStateAsync();
            Announce("join", connectionId, user);
        }
        return Members.Count;
    }

    public async Task<bool> Leave(string connectionId, string? user, bool notify)
    {
        if (!Members.Remove(connectionId)) return false;
        if (Members.Count == 0)
        {
            await state.ClearStateAsync();
        }
        else
        {
            await state.WriteStateAsync();
            if (notify) Announce("leave", connectionId, user);
        }
        return true;
    }

    public Task<PublishReceipt> Publish(OutboundMessage message, string? exceptConnectionId, bool trackDelivery)
    {
        var recipients = exceptConnectionId is null ? Members : Members.Where(m => m != exceptConnectionId);
        var count = dispatcher.Dispatch(message, "room:" + Name, Name, recipients, trackDelivery);
        return Task.FromResult(new PublishReceipt(message.Id, count));
    }

    public Task<DeliverySummary> AwaitDelivery(string messageId, TimeSpan timeout) => dispatcher.WaitAsync(messageId, timeout);

    public Task<int> Count() => Task.FromResult(Members.Count);

    public Task<bool> IsMember(string connectionId) => Task.FromResult(Members.Contains(connectionId));

    public Task<MemberPage> GetMembers(string? after, int limit)
    {
        var page = Members
            .Where(m => after is null || string.CompareOrdinal(m, after) > 0)
            .Order(StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var next = page.Count > limit ? page[limit - 1] : null;
        if (page.Count > limit) page.RemoveAt(limit);
        return Task.FromResult(new MemberPage(Members.Count, page, next));
    }

    /// <summary>
    /// Presence notices go to the other members of named rooms only: never the default room, and never a room above
    /// the configured size, where every join would cost one post per member.
    /// </summary>
    private void Announce(string presenceEvent, string connectionId, string? user)
    {
        if (!_options.PresenceNotices || Name == _options.DefaultRoom || Members.Count > _options.PresenceMaxMembers) return;
        var others = Members.Where(m => m != connectionId);
        dispatcher.Dispatch(Envelopes.Presence(presenceEvent, Name, connectionId, user), "room:" + Name, Name, others, track: false);
    }
}

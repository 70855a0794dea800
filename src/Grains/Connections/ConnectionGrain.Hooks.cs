using Tether.Contracts;

namespace Tether.Grains;

/// <summary>The application's hooks, called after this grain's own checks (docs/hooks.md).</summary>
public sealed partial class ConnectionGrain
{
    /// <summary>The join hook's refusal of <paramref name="room"/>, or null when the application allows it.</summary>
    private async Task<ErrorReply?> JoinRefusedAsync(string room)
    {
        if (!_hooks.IsConfigured(HookName.Join)) return null;
        var result = await _hooks.CallAsync(HookName.Join, HookRequests.Join(Id, State.User, room, State.Data), HookRequests.AnyAnswer);
        return result.Refusal;
    }

    /// <summary>
    /// Once per message, before any fan-out: the publish hook may keep the message, replace it or refuse it.
    /// Returns the message to send (JSON text), or the refusal.
    /// </summary>
    private async Task<(string? MessageJson, ErrorReply? Refusal)> PublishHookAsync(string? room, System.Text.Json.Nodes.JsonObject? target, string messageJson)
    {
        if (!_hooks.IsConfigured(HookName.Publish)) return (messageJson, null);
        var result = await _hooks.CallAsync(HookName.Publish,
            HookRequests.Publish(Id, State.User, room, target, messageJson, State.Data), HookRequests.CheckPublishAnswer);
        return result.Refused ? (null, result.Refusal) : (HookRequests.PublishedMessage(result.Answer, messageJson), null);
    }

    private async Task<ClientReply> RpcAsync(RpcCall call)
    {
        // The API routed this action by its own settings; a silo configured without the rpc hook cannot answer it.
        if (!_hooks.IsConfigured(HookName.Rpc)) return new ErrorReply(400, "invalid_message", $"Unsupported action '{call.Action}'.");
        var result = await _hooks.CallAsync(HookName.Rpc, HookRequests.Rpc(Id, State.User, call.Action, call.BodyJson, State.Data), HookRequests.AnyAnswer);
        if (result.Refusal is { } refusal) return refusal;
        return new RpcAnswer(result.Answer?.GetRawText() ?? "null");
    }

    private void NotifyDisconnected(string? user, string cause)
    {
        if (_hooks.IsConfigured(HookName.Disconnect)) _hooks.Notify(HookName.Disconnect, HookRequests.Disconnect(Id, user, cause));
    }
}

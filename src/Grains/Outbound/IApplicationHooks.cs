using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tether.Grains;

/// <summary>
/// How the grains and the API call the application's own service (contract §10), without knowing about HTTP.
/// One call per event, never per recipient.
/// </summary>
public interface IApplicationHooks
{
    /// <summary>Whether <paramref name="hook"/> has a URL; callers skip building its request otherwise.</summary>
    bool IsConfigured(HookName hook);

    /// <summary>Whether client messages with this <c>action</c> go to the rpc hook (<c>Hooks__Rpc__Actions</c>).</summary>
    bool IsRpcAction(string action);

    /// <summary>
    /// Calls <paramref name="hook"/> and waits for its decision. <paramref name="checkAnswer"/> returns what is wrong
    /// with a 2xx answer, or null: a malformed answer is a failure, and the hook's failure policy decides.
    /// </summary>
    Task<HookResult> CallAsync(HookName hook, JsonObject request, Func<JsonElement, string?> checkAnswer);

    /// <summary>Queues a notification (the disconnect hook): sent with retries in the background, never awaited.</summary>
    void Notify(HookName hook, JsonObject request);
}

using System.Text.Json;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Api.Integration;

/// <summary>Recognizes a client message whose <c>action</c> is one of <c>Hooks__Rpc__Actions</c>.</summary>
internal static class RpcActions
{
    private static readonly JsonDocumentOptions InnerOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>The rpc call for <paramref name="body"/> (an object, or JSON text of one inside a string), or null.</summary>
    public static RpcCall? Match(JsonElement body, IApplicationHooks hooks)
    {
        if (!hooks.IsConfigured(HookName.Rpc)) return null;
        if (body.ValueKind == JsonValueKind.Object) return Match(body, body.GetRawText(), hooks);
        if (body.ValueKind != JsonValueKind.String || !JsonBody.TryGetText(body, out var text) || !text.AsSpan().TrimStart().StartsWith("{")) return null;
        try
        {
            using var inner = JsonDocument.Parse(text, InnerOptions);
            return Match(inner.RootElement, text, hooks);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static RpcCall? Match(JsonElement message, string json, IApplicationHooks hooks) =>
        message.TryGetProperty("action", out var action) && action.ValueKind == JsonValueKind.String
        && action.GetString() is { } name && hooks.IsRpcAction(name)
            ? new RpcCall(name, json)
            : null;
}

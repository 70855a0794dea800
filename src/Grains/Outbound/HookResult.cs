using System.Text.Json;
using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// What a hook decided. <see cref="Refusal"/> set: refused (by the application's 4xx, or by a failure under the
/// <c>deny</c> policy). Otherwise go on, with the application's <see cref="Answer"/> when it gave one (null when the hook
/// is not configured or failed under the <c>allow</c> policy).
/// </summary>
public sealed record HookResult(ErrorReply? Refusal, JsonElement? Answer)
{
    public static readonly HookResult Proceed = new(null, null);

    public bool Refused => Refusal is not null;
}

namespace Tether.Hooks;

/// <summary>What a hook that times out, fails or answers malformed means (<c>Hooks__{Name}__FailurePolicy</c>).</summary>
public enum HookFailurePolicy
{
    /// <summary>Refuse what the hook was asked about (<c>503 hook_unavailable</c>).</summary>
    Deny,

    /// <summary>Go on as if the application had answered <c>200 {}</c>.</summary>
    Allow,
}

namespace Tether.Hooks;

/// <summary>One hook's settings (<c>Hooks__{Name}__*</c>).</summary>
public class HookOptions
{
    /// <summary>The application's endpoint; unset: the hook is off. <c>https</c> outside Development.</summary>
    public string? Url { get; set; }

    /// <summary>How long one call may take, answer included.</summary>
    public TimeSpan Timeout { get; set; } = HooksOptions.DefaultTimeout;

    public HookFailurePolicy FailurePolicy { get; set; } = HookFailurePolicy.Deny;

    public bool Configured => !string.IsNullOrWhiteSpace(Url);
}

/// <summary>The rpc hook's settings: which client actions it answers.</summary>
public sealed class RpcHookOptions : HookOptions
{
    /// <summary>Client actions handed to the rpc hook (<c>Hooks__Rpc__Actions__0..N</c>, or one comma-separated value).</summary>
    public List<string> Actions { get; set; } = [];
}

using Tether.Grains;

namespace Tether.Hooks;

/// <summary>The application's hooks (configuration section <c>Hooks</c>; contract §10, docs/hooks.md).</summary>
public sealed class HooksOptions
{
    public const string Section = "Hooks";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// What the hooks of one integration call may take together: API Gateway ends an integration call after 29 s, and
    /// Tether's own work on the call needs the rest.
    /// </summary>
    public static readonly TimeSpan IntegrationBudget = TimeSpan.FromSeconds(25);

    /// <summary>Largest answer read from the application: API Gateway's frame limit, since an rpc answer becomes a frame.</summary>
    public const int MaxAnswerBytes = 128 * 1024;

    public const int MinSecretLength = 16;

    public const int MaxSecretLength = 1024;

    /// <summary>The key of <c>X-Tether-Signature</c>. Alternative to <see cref="Secrets"/>.</summary>
    public string? Secret { get; set; }

    /// <summary>
    /// For rotation: the first entry signs. The application accepts every entry, so the list can be shared with it
    /// while the new secret is rolled out (docs/hooks.md).
    /// </summary>
    public List<string> Secrets { get; set; } = [];

    public HookOptions Connect { get; set; } = new();

    public HookOptions Join { get; set; } = new();

    public HookOptions Publish { get; set; } = new();

    public RpcHookOptions Rpc { get; set; } = new();

    public HookOptions Disconnect { get; set; } = new();

    /// <summary>The secret calls are signed with: <see cref="Secret"/>, else the first of <see cref="Secrets"/>.</summary>
    public string? SigningSecret => !string.IsNullOrEmpty(Secret) ? Secret : Secrets.FirstOrDefault(s => !string.IsNullOrEmpty(s));

    public HookOptions For(HookName hook) => hook switch
    {
        HookName.Connect => Connect,
        HookName.Join => Join,
        HookName.Publish => Publish,
        HookName.Rpc => Rpc,
        HookName.Disconnect => Disconnect,
        _ => throw new ArgumentOutOfRangeException(nameof(hook), hook, null),
    };

    /// <summary>The setting names use the hook's name as configured: <c>Hooks__Connect__Url</c>.</summary>
    public static string SettingName(HookName hook) => hook.ToString();

    /// <summary>The name in <c>X-Tether-Hook</c> and in metrics: <c>connect</c>, <c>join</c>, …</summary>
    public static string WireName(HookName hook) => hook switch
    {
        HookName.Connect => "connect",
        HookName.Join => "join",
        HookName.Publish => "publish",
        HookName.Rpc => "rpc",
        HookName.Disconnect => "disconnect",
        _ => throw new ArgumentOutOfRangeException(nameof(hook), hook, null),
    };
}

namespace Tether.Grains;

/// <summary>The application's hooks (contract §10; docs/hooks.md).</summary>
public enum HookName
{
    Connect,
    Join,
    Publish,
    Rpc,
    Disconnect,
}

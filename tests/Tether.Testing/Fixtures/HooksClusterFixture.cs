namespace Tether.Testing;

/// <summary>
/// The cluster shape with the grain-side hooks (join, publish, rpc, disconnect) pointed at a <see cref="HookServer"/>:
/// two silos, rooms sharded past eight members.
/// </summary>
public sealed class HooksClusterFixture : ClusterFixture
{
    public HookServer Hooks { get; private set; } = null!;

    protected override async Task BeforeStartAsync() => Hooks = await HookServer.StartAsync();

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        // Members receive the messages only, so each test can count them.
        new("Rooms:PresenceNotices", "false"),
        new("Hooks:Secret", "cluster-hook-secret-0123456789"),
        new("Hooks:Join:Url", new Uri(Hooks.BaseUrl, "join").ToString()),
        new("Hooks:Publish:Url", new Uri(Hooks.BaseUrl, "publish").ToString()),
        new("Hooks:Rpc:Url", new Uri(Hooks.BaseUrl, "rpc").ToString()),
        new("Hooks:Rpc:Actions", "move"),
        new("Hooks:Disconnect:Url", new Uri(Hooks.BaseUrl, "disconnect").ToString()),
    ];

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Hooks.DisposeAsync();
    }
}

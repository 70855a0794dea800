using Microsoft.Extensions.Options;

namespace Tether.Api.ChatPage;

/// <summary>The demo chat page at <c>GET /</c> (configuration section <c>ChatPage</c>).</summary>
public sealed class ChatPageOptions
{
    public const string Section = "ChatPage";

    /// <summary>Serve the page. Unset: only in Development, where the embedded default runs.</summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// The WebSocket URL the page connects to. Unset: the embedded local gateway's, on the host the browser used;
    /// without one, the page asks.
    /// </summary>
    public Uri? WebSocketUrl { get; set; }

    public bool IsEnabled(IHostEnvironment environment) => Enabled ?? environment.IsDevelopment();
}

/// <summary>A page that connects to a URL browsers refuse would only show a broken chat.</summary>
internal sealed class ChatPageOptionsValidator : IValidateOptions<ChatPageOptions>
{
    public ValidateOptionsResult Validate(string? name, ChatPageOptions options) =>
        options.WebSocketUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("ws" or "wss"))
            ? ValidateOptionsResult.Fail("ChatPage__WebSocketUrl must be an absolute ws:// or wss:// URL.")
            : ValidateOptionsResult.Success;
}

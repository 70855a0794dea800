using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Tether.Hosting;
using Tether.LocalGateway;

namespace Tether.Api.ChatPage;

/// <summary>
/// Serves the chat page (<c>ChatPage/wwwroot</c>, embedded in the assembly with the built <c>tether-client</c> SDK
/// under <c>sdk/</c>): <c>GET /</c> is the page, <c>/chat/*</c> its files and <c>/chat/config.json</c> where to connect.
/// </summary>
public static class ChatPageEndpoints
{
    private const string ResourcePrefix = "ChatPage/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    public static WebApplicationBuilder AddChatPage(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ChatPageOptions, ChatPageOptionsValidator>(builder.Configuration.GetSection(ChatPageOptions.Section));
        return builder;
    }

    public static WebApplication MapChatPage(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<ChatPageOptions>>().Value.IsEnabled(app.Environment)) return app;

        var files = LoadFiles();
        app.MapGet("/", (HttpContext context) => Serve(context, files, "index.html")).ExcludeFromDescription();
        app.MapGet("/chat/config.json", (HttpContext context, IOptions<ChatPageOptions> options) =>
            Results.Json(new { url = WebSocketUrl(context, options.Value)?.ToString() })).ExcludeFromDescription();
        app.MapGet("/chat/{**path}", (HttpContext context, string path) => Serve(context, files, path)).ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(HttpContext context, FrozenDictionary<string, byte[]> files, string path)
    {
        if (!files.TryGetValue(path, out var content) || !ContentTypes.TryGetValue(Path.GetExtension(path), out var type)) return Results.NotFound();
        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache";
        headers["X-Content-Type-Options"] = "nosniff";
        // The page talks to the gateway over WebSocket and loads nothing from elsewhere.
        headers.ContentSecurityPolicy = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:";
        return Results.Bytes(content, type);
    }

    /// <summary>ChatPage__WebSocketUrl, else the embedded gateway on the host the browser asked for, else none.</summary>
    private static Uri? WebSocketUrl(HttpContext context, ChatPageOptions options)
    {
        if (options.WebSocketUrl is { } configured) return configured;
        if (context.RequestServices.GetService<EmbeddedLocalGateway>() is null) return null;
        var gateway = context.RequestServices.GetRequiredService<IOptions<LocalGatewayOptions>>().Value;
        return new UriBuilder("ws", context.Request.Host.Host, gateway.Port, gateway.Stage).Uri;
    }

    private static FrozenDictionary<string, byte[]> LoadFiles()
    {
        var assembly = typeof(ChatPageEndpoints).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[ResourcePrefix.Length..]] = copy.ToArray();
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

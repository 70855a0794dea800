using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Tether.LocalGateway;

namespace Tether.Testing;

/// <summary>A real WebSocket client (<see cref="ClientWebSocket"/>) that records every frame it receives, in order.</summary>
public sealed class TestClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly ClientWebSocket _socket = new();
    public const string MarkerPrefix = "marker-";

    private readonly List<string> _frames = [];
    private readonly ChangeSignal _signal = new();
    private readonly TaskCompletionSource<(WebSocketCloseStatus? Status, string? Reason)> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiving = Task.CompletedTask;

    private TestClient() => _socket.Options.KeepAliveInterval = TimeSpan.Zero;

    /// <summary>The id the gateway gave this connection (set by the test, which learns it from the gateway as the backend does).</summary>
    public string ConnectionId { get; set; } = "";

    /// <summary>Connects (the WebSocket upgrade, gated by <c>$connect</c>) and starts recording.</summary>
    public static async Task<TestClient> ConnectAsync(Uri url)
    {
        var client = new TestClient();
        using var timeout = new CancellationTokenSource(Timeout);
        await client._socket.ConnectAsync(url, timeout.Token);
        client._receiving = client.ReceiveLoopAsync();
        return client;
    }

    /// <summary>The status of a refused upgrade (<c>$connect</c> answered non-2xx).</summary>
    public static async Task<int> RefusedStatusAsync(Uri url)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await socket.ConnectAsync(url, timeout.Token);
        }
        catch (WebSocketException)
        {
            return (int)socket.HttpStatusCode;
        }
        throw new InvalidOperationException("The upgrade was accepted.");
    }

    public Task SendAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    public Task SendBinaryAsync(byte[] bytes) => _socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);

    /// <summary>Every frame received so far, in order (barrier markers left out).</summary>
    public IReadOnlyList<string> Frames
    {
        get
        {
            lock (_frames) return [.. _frames.Where(f => !f.StartsWith(MarkerPrefix, StringComparison.Ordinal))];
        }
    }

    /// <summary>The frames as compact JSON, comparable with <see cref="JsonNode.ToJsonString"/> of a parsed frame.</summary>
    public IReadOnlyList<string> Json => [.. Frames.Select(f => Parse(f).ToJsonString())];

    /// <summary>Sends a message and returns the reply it produces (a two-way route's answer, or API Gateway's error frame).</summary>
    public async Task<JsonObject> SendForReplyAsync(string text)
    {
        var before = Replies().Count;
        await SendAsync(text);
        await WaitUntilAsync(() => Replies().Count > before);
        return Replies()[before];
    }

    /// <summary>Sends a message and returns the next frame that arrives after it.</summary>
    public async Task<JsonObject> SendForFrameAsync(string text)
    {
        var before = Frames.Count;
        await SendAsync(text);
        await WaitUntilAsync(() => Frames.Count > before);
        return Parse(Frames[before]);
    }

    /// <summary>The replies among the frames: what a two-way route answered, and error frames.</summary>
    public List<JsonObject> Replies() => [.. Frames.Select(Parse).Where(IsReply)];

    /// <summary>What other parties sent: messages and presence notices.</summary>
    public List<JsonObject> Deliveries() => [.. Frames.Select(Parse).Where(f => !IsReply(f))];

    public Task WaitUntilAsync(Func<bool> condition) => _signal.WaitUntilAsync(condition, Timeout);

    /// <summary>Waits for <paramref name="marker"/>, which the test sent behind everything else on this socket.</summary>
    public Task WaitForMarkerAsync(string marker)
    {
        return WaitUntilAsync(() =>
        {
            lock (_frames) return _frames.Contains(marker);
        });
    }

    public static JsonObject Parse(string frame) => JsonNode.Parse(frame)!.AsObject();

    private static bool IsReply(JsonObject frame) =>
        frame["type"]?.GetValue<string>() is "joined" or "left" or "sent" or "error" || frame.ContainsKey("requestId");

    /// <summary>Completes with the close status the server sent (null when the connection just dropped).</summary>
    public Task<(WebSocketCloseStatus? Status, string? Reason)> ClosedAsync() => _closed.Task.WaitAsync(Timeout);

    public async Task CloseAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        }
        await ClosedAsync();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[256 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    length += result.Count;
                } while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult((_socket.CloseStatus, _socket.CloseStatusDescription));
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    }
                    return;
                }
                lock (_frames) _frames.Add(Encoding.UTF8.GetString(buffer, 0, length));
                _signal.Notify();
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _closed.TrySetResult((null, e.Message));
        }
        finally
        {
            _signal.Notify();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        await _receiving.ContinueWith(_ => { }, TaskScheduler.Default);
        _socket.Dispose();
    }
}

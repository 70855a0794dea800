using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Tether.LocalGateway.Template;

namespace Tether.LocalGateway;

/// <summary>
/// The client side of the local API Gateway: accepts WebSockets at <c>/{stage}</c>, gates them on <c>$connect</c>,
/// routes each text message by the template's selection expression to its integration, sends two-way replies and
/// error frames, calls <c>$disconnect</c> after a close, an idle timeout or the maximum lifetime, and delivers what
/// the Management API posts (it is the <see cref="IEmulatedConnections"/> behind <see cref="ManagementApiEmulator"/>).
/// </summary>
public sealed partial class WebSocketGateway(
    GatewayDefinition definition, LocalGatewayOptions options, IntegrationInvoker invoker, ILogger logger, TimeProvider? time = null,
    StageThrottle? throttle = null)
    : IEmulatedConnections, IDisposable
{
    /// <summary>API Gateway's frame limit; larger frames close the socket with 1009.</summary>
    public const int MaxFrameBytes = 32 * 1024;

    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, GatewayConnection> _connections = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ChangeSignal _signal = new();
    private readonly CancellationTokenSource _stopping = new();

    public GatewayDefinition Definition => definition;

    /// <summary>Connections that are connecting or open.</summary>
    public int Count => _connections.Count;

    /// <summary>Ids of the connections that are connecting or open.</summary>
    public IReadOnlyList<string> ConnectionIds => [.. _connections.Keys];

    /// <summary>Ids of the open connections.</summary>
    public IReadOnlyList<string> OpenConnectionIds => [.. _connections.Values.Where(c => c.State == EmulatedConnectionState.Open).Select(c => c.Id)];

    /// <summary>Completes when <paramref name="condition"/> holds; re-checked whenever a connection opens or closes.</summary>
    public Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout) => _signal.WaitUntilAsync(condition, timeout);

    /// <summary>Whether a request is for this gateway's WebSocket endpoint: <c>/{stage}</c>.</summary>
    public bool IsWebSocketPath(PathString path) => path.Value is { } p && p.Trim('/') == options.Stage;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsJsonAsync(new { message = $"This is a WebSocket endpoint: connect with ws://{context.Request.Host}/{options.Stage}" });
            return;
        }

        var connectedAt = _time.GetUtcNow();
        using var connection = new GatewayConnection(NewConnectionId(), connectedAt,
            context.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1", context.Request.Headers.UserAgent.ToString());
        _connections[connection.Id] = connection;
        try
        {
            var query = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            if (throttle?.TryTake() == false)
            {
                LogConnectRefused(connection.Id, "429 (stage throttling)");
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers["x-amzn-ErrorType"] = "LimitExceededException";
                return;
            }
            if (definition.Routes.TryGetValue("$connect", out var connectRoute))
            {
                // API Gateway passes the handshake's Sec-WebSocket-* headers on to HTTP backends.
                var forwarded = headers.Where(h => h.Key.StartsWith("Sec-WebSocket-", StringComparison.OrdinalIgnoreCase))
                    .ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
                var input = Input(connection, "$connect", "CONNECT", NewRequestId(), null, "", query, headers);
                var result = await invoker.InvokeAsync(connectRoute.Integration, new RouteRequest(input, forwarded), context.RequestAborted);
                if (!result.Succeeded)
                {
                    var status = result.Failed ? StatusCodes.Status500InternalServerError : result.Status;
                    LogConnectRefused(connection.Id, result.Failed ? "nothing" : status.ToString(CultureInfo.InvariantCulture));
                    context.Response.StatusCode = status;
                    return;
                }
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { DangerousEnableCompression = false });
            connection.Open(socket, _time.GetUtcNow());
            _signal.Notify();
            LogConnected(connection.Id, connection.SourceIp);
            await RunAsync(connection);
        }
        finally
        {
            _connections.TryRemove(connection.Id, out _);
            _signal.Notify();
        }
    }

    private async Task RunAsync(GatewayConnection connection)
    {
        var messages = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        // Messages of one connection reach the backend one at a time, in order; the receive loop keeps reading
        // meanwhile so a close or an oversized frame is seen at once.
        var processing = ProcessAsync(connection, messages.Reader, lifetime.Token);
        var timers = EnforceLimitsAsync(connection, lifetime.Token);
        try
        {
            await ReceiveAsync(connection, messages.Writer, lifetime.Token);
        }
        finally
        {
            connection.MarkClosed();
            messages.Writer.TryComplete();
            await lifetime.CancelAsync();
            await Task.WhenAll(processing, timers).ContinueWith(_ => { }, TaskScheduler.Default);
            _connections.TryRemove(connection.Id, out _);
            _signal.Notify();
            LogDisconnected(connection.Id, connection.DisconnectStatus, connection.DisconnectReason);
            if (!connection.Vanished) await DisconnectAsync(connection);
        }
    }

    private async Task ReceiveAsync(GatewayConnection connection, ChannelWriter<string> messages, CancellationToken ct)
    {
        var socket = connection.Socket!;
        var buffer = new byte[MaxFrameBytes + 1];
        var length = 0;
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(connection.ReceiveAbortToken, ct);
        try
        {
            while (socket.State == WebSocketState.Open || socket.State == WebSocketState.CloseSent)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(length), aborted.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    connection.RecordClose((int?)socket.CloseStatus ?? 1005, socket.CloseStatusDescription ?? "");
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, CancellationToken.None);
                    }
                    return;
                }
                connection.Touch(_time.GetUtcNow());
                // After a close has begun, whatever else the client sends (the rest of an oversized frame) is dropped.
                if (connection.Closing) continue;
                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    await CloseAsync(connection, WebSocketCloseStatus.InvalidMessageType, "Binary frames are not supported");
                    continue;
                }
                length += result.Count;
                if (length > MaxFrameBytes)
                {
                    // ClientWebSocket, browsers and wscat send each message as one frame, so a message over the
                    // frame limit is a frame over it.
                    await CloseAsync(connection, WebSocketCloseStatus.MessageTooBig, "Message too big");
                    continue;
                }
                if (!result.EndOfMessage) continue;
                messages.TryWrite(Encoding.UTF8.GetString(buffer, 0, length));
                length = 0;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // The client vanished (or did not finish a close we started in time): API Gateway reports 1006.
            connection.RecordClose(1006, "Connection lost");
        }
    }

    private async Task ProcessAsync(GatewayConnection connection, ChannelReader<string> messages, CancellationToken ct)
    {
        try
        {
            await foreach (var body in messages.ReadAllAsync(ct))
            {
                var requestId = NewRequestId();
                if (throttle?.TryTake() == false)
                {
                    // The message never reaches the backend; the client is told, as API Gateway tells it.
                    await SendErrorAsync(connection, "Too Many Requests", requestId, ct);
                    continue;
                }
                var route = definition.SelectRoute(body);
                if (route is null)
                {
                    await SendErrorAsync(connection, "Forbidden", requestId, ct);
                    continue;
                }
                var input = Input(connection, route.RouteKey, "MESSAGE", requestId, NewRequestId(), body, null, null);
                var result = await invoker.InvokeAsync(route.Integration, new RouteRequest(input), ct);
                if (result.Failed)
                {
                    await SendErrorAsync(connection, "Internal server error", requestId, ct);
                }
                else if (route.TwoWay)
                {
                    if (!route.Integration.MatchesResponse(result.Status)) await SendErrorAsync(connection, "Internal server error", requestId, ct);
                    else if (result.Body.Length > 0) await SendAsync(connection.Id, Encoding.UTF8.GetBytes(result.Body), ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Closed: messages still queued are dropped, as when API Gateway loses the connection.
        }
    }

    /// <summary>Closes the connection at its idle timeout or its maximum lifetime, whichever comes first.</summary>
    private async Task EnforceLimitsAsync(GatewayConnection connection, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var now = _time.GetUtcNow();
                var idleAt = connection.LastActiveAt + options.IdleTimeout;
                var endOfLife = connection.ConnectedAt + options.MaxLifetime;
                if (now >= endOfLife)
                {
                    await CloseAsync(connection, WebSocketCloseStatus.EndpointUnavailable, "Going away (maximum connection lifetime)");
                    return;
                }
                if (now >= idleAt)
                {
                    await CloseAsync(connection, WebSocketCloseStatus.EndpointUnavailable, "Going away (idle timeout)");
                    return;
                }
                await Task.Delay((idleAt < endOfLife ? idleAt : endOfLife) - now, _time, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task DisconnectAsync(GatewayConnection connection)
    {
        if (!definition.Routes.TryGetValue("$disconnect", out var route)) return;
        var input = Input(connection, "$disconnect", "DISCONNECT", NewRequestId(), null, "", null, null);
        var result = await invoker.InvokeAsync(route.Integration, new RouteRequest(input), CancellationToken.None);
        if (!result.Succeeded) LogDisconnectNotAccepted(connection.Id, result.Failed ? "nothing" : result.Status.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Starts a server-side close; a client that does not answer it in time is dropped.</summary>
    private async Task CloseAsync(GatewayConnection connection, WebSocketCloseStatus status, string reason)
    {
        if (!connection.BeginClose((int)status, reason)) return;
        _signal.Notify();
        await connection.SendLock.WaitAsync();
        try
        {
            using var timeout = new CancellationTokenSource(CloseHandshakeTimeout);
            await connection.Socket!.CloseOutputAsync(status, reason, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            connection.AbortReceive();
        }
        finally
        {
            connection.SendLock.Release();
        }
        connection.AbortReceiveAfter(CloseHandshakeTimeout);
    }

    /// <summary>API Gateway's error frame, e.g. <c>{"message":"Internal server error","connectionId":"…","requestId":"…"}</c>.</summary>
    private async Task SendErrorAsync(GatewayConnection connection, string message, string requestId, CancellationToken ct) =>
        await SendAsync(connection.Id, JsonSerializer.SerializeToUtf8Bytes(new { message, connectionId = connection.Id, requestId }), ct);

    private TemplateInput Input(GatewayConnection connection, string routeKey, string eventType, string requestId, string? messageId, string body,
        IReadOnlyDictionary<string, string>? query, IReadOnlyDictionary<string, string>? headers)
    {
        var now = _time.GetUtcNow();
        var context = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["connectionId"] = connection.Id,
            ["routeKey"] = routeKey,
            ["eventType"] = eventType,
            ["requestId"] = requestId,
            ["extendedRequestId"] = requestId,
            ["messageId"] = messageId ?? "",
            ["messageDirection"] = "IN",
            ["connectedAt"] = connection.ConnectedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            ["requestTimeEpoch"] = now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            ["requestTime"] = now.ToString("dd/MMM/yyyy:HH:mm:ss +0000", CultureInfo.InvariantCulture),
            ["domainName"] = "localhost",
            ["stage"] = options.Stage,
            ["apiId"] = "local",
            ["identity.sourceIp"] = connection.SourceIp,
            ["identity.userAgent"] = connection.UserAgent,
            ["authorizer.principalId"] = "",
            ["disconnectStatusCode"] = eventType == "DISCONNECT" ? connection.DisconnectStatus.ToString(CultureInfo.InvariantCulture) : "",
            ["disconnectReason"] = eventType == "DISCONNECT" ? connection.DisconnectReason : "",
        };
        return new TemplateInput
        {
            Context = context,
            StageVariables = definition.StageVariables,
            Body = body,
            Query = query ?? new Dictionary<string, string>(),
            Headers = headers ?? new Dictionary<string, string>(),
        };
    }

    /// <summary>Like API Gateway's: 11 random bytes in base64, e.g. <c>R0oXAdfD0kwCH6w=</c> (so <c>+</c>, <c>/</c> and <c>=</c> occur).</summary>
    private static string NewConnectionId() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(11));

    private static string NewRequestId() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(6)).Replace('/', '_').Replace('+', '-') + "=";

    public EmulatedConnectionState StateOf(string connectionId) =>
        _connections.TryGetValue(connectionId, out var c) ? c.State : EmulatedConnectionState.Unknown;

    public EmulatedConnectionInfo? InfoOf(string connectionId) =>
        _connections.TryGetValue(connectionId, out var c) && c.State == EmulatedConnectionState.Open
            ? new EmulatedConnectionInfo(c.ConnectedAt, c.LastActiveAt, c.SourceIp, c.UserAgent)
            : null;

    public async ValueTask<bool> SendAsync(string connectionId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (!_connections.TryGetValue(connectionId, out var connection) || connection.State != EmulatedConnectionState.Open) return false;
        await connection.SendLock.WaitAsync(cancellationToken);
        try
        {
            if (connection.State != EmulatedConnectionState.Open) return false;
            await connection.Socket!.SendAsync(payload, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            connection.Touch(_time.GetUtcNow());
            return true;
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            connection.SendLock.Release();
        }
    }

    public async ValueTask<bool> CloseAsync(string connectionId)
    {
        if (!_connections.TryGetValue(connectionId, out var connection) || connection.State != EmulatedConnectionState.Open) return false;
        await CloseAsync(connection, WebSocketCloseStatus.NormalClosure, "Connection deleted");
        return true;
    }

    /// <summary>
    /// The connection is lost without <c>$disconnect</c> ever reaching the backend, as happens at API Gateway
    /// (<c>$disconnect</c> is best effort): the socket is dropped and the Management API answers 410 from now on.
    /// </summary>
    public bool Vanish(string connectionId)
    {
        if (!_connections.TryGetValue(connectionId, out var connection) || connection.State != EmulatedConnectionState.Open) return false;
        connection.Vanished = true;
        connection.BeginClose(1006, "Connection lost");
        connection.Socket!.Abort();
        _signal.Notify();
        return true;
    }

    /// <summary>Closes every connection (1001) on shutdown.</summary>
    public async Task StopAsync()
    {
        await Task.WhenAll(_connections.Values.Where(c => c.State == EmulatedConnectionState.Open)
            .Select(c => CloseAsync(c, WebSocketCloseStatus.EndpointUnavailable, "Going away")));
        await _stopping.CancelAsync();
    }

    public void Dispose() => _stopping.Dispose();

    private sealed class GatewayConnection(string id, DateTimeOffset connectedAt, string sourceIp, string userAgent) : IDisposable
    {
        private readonly CancellationTokenSource _receiveAbort = new();
        private readonly Lock _receiveAbortGate = new();
        private long _lastActiveTicks = connectedAt.UtcTicks;
        private int _closing;
        private bool _disposed;
        private volatile EmulatedConnectionState _state = EmulatedConnectionState.Connecting;

        public string Id { get; } = id;
        public DateTimeOffset ConnectedAt { get; } = connectedAt;
        public string SourceIp { get; } = sourceIp;
        public string UserAgent { get; } = userAgent;
        public WebSocket? Socket { get; private set; }
        public SemaphoreSlim SendLock { get; } = new(1, 1);
        public EmulatedConnectionState State => _state;
        public int DisconnectStatus { get; private set; } = 1006;
        public volatile bool Vanished;

        public bool Closing => Volatile.Read(ref _closing) == 1;
        public string DisconnectReason { get; private set; } = "";

        public DateTimeOffset LastActiveAt => new(Interlocked.Read(ref _lastActiveTicks), TimeSpan.Zero);

        public void Open(WebSocket socket, DateTimeOffset now)
        {
            Socket = socket;
            Touch(now);
            _state = EmulatedConnectionState.Open;
        }

        public void Touch(DateTimeOffset now) => Interlocked.Exchange(ref _lastActiveTicks, now.UtcTicks);

        /// <summary>First close wins: it is the status <c>$disconnect</c> reports.</summary>
        public bool BeginClose(int status, string reason)
        {
            if (Interlocked.Exchange(ref _closing, 1) == 1) return false;
            _state = EmulatedConnectionState.Unknown;
            DisconnectStatus = status;
            DisconnectReason = reason;
            return true;
        }

        public void RecordClose(int status, string reason) => BeginClose(status, reason);

        public void MarkClosed() => _state = EmulatedConnectionState.Unknown;

        public CancellationToken ReceiveAbortToken => _receiveAbort.Token;

        // A close started by the Management API may finish after the connection has ended and been disposed (the
        // client answered the close first): then there is no receive left to abort.
        public void AbortReceive()
        {
            lock (_receiveAbortGate)
            {
                if (!_disposed) _receiveAbort.Cancel();
            }
        }

        public void AbortReceiveAfter(TimeSpan delay)
        {
            lock (_receiveAbortGate)
            {
                if (!_disposed) _receiveAbort.CancelAfter(delay);
            }
        }

        // SendLock is not disposed: a Management API post may still be waiting on it, and it holds no handle.
        public void Dispose()
        {
            lock (_receiveAbortGate)
            {
                _disposed = true;
                _receiveAbort.Dispose();
            }
        }
    }
}

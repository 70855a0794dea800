using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Tether.LocalGateway;

namespace Tether.Testing.Reliability;

/// <summary>
/// A chat client as contract §7 means it, over real WebSockets through the local gateway: it tracks the last
/// (epoch, seq) it holds of every room it joined, drops duplicates, and after a cut opens a new connection (API
/// Gateway gives it a new id) and sends <c>resume</c> for all its rooms. Sends carry a <c>requestId</c> and are
/// retried with the same one until a <c>sent</c> reply acknowledges them. One request at a time: the gateway
/// answers a connection's messages in order, so the next reply belongs to the outstanding request.
/// </summary>
public sealed class ResumingClient(string name, Uri url) : IAsyncDisposable
{
    /// <summary>
    /// How long one request waits for its reply before the client gives up on the connection: API Gateway's
    /// integration timeout (29 s) and a little, as a reply can legitimately take that long (seen: over 10 s for a join
    /// on an overloaded machine).
    /// </summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long connecting, resuming or getting one message acknowledged may take in all, retries included.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, StreamLog> _rooms = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly ChangeSignal _signal = new();
    private readonly CancellationTokenSource _disposed = new();
    private ClientWebSocket? _socket;
    private int _generation;
    private TaskCompletionSource<JsonObject>? _reply;
    private Task _receiving = Task.CompletedTask;
    private Task _reconnecting = Task.CompletedTask;

    public string Name { get; } = name;

    /// <summary>Reconnect and resume by itself when the server closes the connection (the gateway's maximum lifetime).</summary>
    public bool ReconnectWhenCut { get; set; }

    /// <summary>Connections opened, the first included.</summary>
    public int Connections { get; private set; }

    /// <summary>Connections the server closed (or that dropped) while this client still wanted them.</summary>
    public int Cuts { get; private set; }

    /// <summary>Messages replayed to this client, as the <c>resumed</c> replies counted them.</summary>
    public int Replayed { get; private set; }

    /// <summary>Sends retried (error reply, no reply in time, or the connection went away).</summary>
    public int Retries { get; private set; }

    /// <summary>A reconnect that gave up, or a resume whose answer refused a room: the client cannot continue.</summary>
    public Exception? Broken { get; private set; }

    public IReadOnlyCollection<StreamLog> Rooms
    {
        get { lock (_gate) return [.. _rooms.Values]; }
    }

    public StreamLog Room(string room)
    {
        lock (_gate) return _rooms[room];
    }

    /// <summary>Opens the first connection, as patient as a reconnect: on a loaded machine an upgrade may take its time.</summary>
    public async Task ConnectAsync()
    {
        await _turn.WaitAsync();
        try
        {
            await ReconnectOnTurnAsync();
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Joins a room and starts following it from the seq the <c>joined</c> reply names.</summary>
    public async Task<JsonObject> JoinAsync(string room)
    {
        var reply = await RequestAsync(new JsonObject { ["action"] = "joinroom", ["room"] = room });
        if (reply["type"]?.GetValue<string>() != "joined") throw new InvalidOperationException($"{Name}: joinroom {room} answered {reply.ToJsonString()}");
        var log = new StreamLog(room, reply["epoch"]!.GetValue<string>(), reply["seq"]!.GetValue<long>());
        lock (_gate) _rooms[room] = log;
        return reply;
    }

    /// <summary>Sends one request on the current connection and returns its reply.</summary>
    public async Task<JsonObject> RequestAsync(JsonObject body)
    {
        await _turn.WaitAsync();
        try
        {
            return await RequestOnCurrentAsync(body);
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// Sends a message to a room until a <c>sent</c> reply acknowledges it, always with the same
    /// <paramref name="requestId"/>: a retry of a message the room already accepted must not be delivered again.
    /// </summary>
    public async Task<JsonObject> SendAsync(string room, string requestId, string text)
    {
        var body = new JsonObject { ["action"] = "sendmessage", ["room"] = room, ["message"] = text, ["requestId"] = requestId };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await _reconnecting;
            await _turn.WaitAsync();
            try
            {
                ThrowIfBroken();
                if (_socket?.State != WebSocketState.Open) await ReconnectOnTurnAsync();
                var reply = await RequestOnCurrentAsync(body.DeepClone().AsObject());
                if (reply["type"]?.GetValue<string>() == "sent") return reply;
                if (!Retryable(reply)) throw new InvalidOperationException($"{Name}: {requestId} to {room} answered {reply.ToJsonString()}");
            }
            catch (Exception e) when (e is TimeoutException or ConnectionLostException or WebSocketException && clock.Elapsed < Patience)
            {
                // No answer on this connection (a silo died under the call, or the gateway cut it): a new one.
                Abort();
            }
            finally
            {
                _turn.Release();
            }
            if (clock.Elapsed > Patience) throw new TimeoutException($"{Name}: {requestId} to {room} not acknowledged within {Patience.TotalSeconds:0} s");
            Retries++;
            // A refused or failed send (503 while the cluster notices a dead silo): try again shortly, as a client would.
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// What a client sends again: API Gateway's own error frame (the backend failed or did not answer in time) and
    /// the backend's 503 and 429 answers.
    /// </summary>
    private static bool Retryable(JsonObject reply) => reply["type"] is null
        || reply["code"]?.GetValue<string>() is "draining" or "cluster_unavailable" or "rate_limited";

    /// <summary>Drops the current connection and resumes every room on a new one, as a client does after any cut.</summary>
    public async Task ReconnectAsync()
    {
        await _reconnecting;
        await _turn.WaitAsync();
        try
        {
            Abort();
            await ReconnectOnTurnAsync();
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Completes when <paramref name="condition"/> holds (checked after every frame and reconnect).</summary>
    public Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout) => _signal.WaitUntilAsync(() => Broken is not null || condition(), timeout)
        .ContinueWith(t =>
        {
            t.GetAwaiter().GetResult();
            ThrowIfBroken();
        }, TaskScheduler.Default);

    /// <summary>Closes the connection without reconnecting (the client goes offline, keeping what it holds).</summary>
    public async Task GoOfflineAsync()
    {
        ReconnectWhenCut = false;
        await _reconnecting;
        await _turn.WaitAsync();
        try
        {
            if (_socket is { State: WebSocketState.Open } socket)
            {
                using var timeout = new CancellationTokenSource(ReplyTimeout);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "offline", timeout.Token);
            }
            Abort();
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Opens a new connection and resumes every room (the caller holds the turn).</summary>
    private async Task ReconnectOnTurnAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await OpenAsync();
                await ResumeOnTurnAsync();
                return;
            }
            catch (Exception e) when (e is WebSocketException or TimeoutException or ConnectionLostException or ResumeRefusedException
                && clock.Elapsed < Patience)
            {
                // The upgrade was refused (503 while a dead silo is noticed) or the resume failed: try again on a new connection.
                Abort();
                await Task.Delay(200);
            }
        }
    }

    private async Task ResumeOnTurnAsync()
    {
        List<StreamLog> logs;
        lock (_gate)
        {
            logs = [.. _rooms.Values];
            foreach (var log in logs) log.Resuming();
        }
        if (logs.Count == 0) return;
        var rooms = new JsonObject();
        foreach (var log in logs) rooms[log.Room] = new JsonObject { ["epoch"] = log.Epoch, ["seq"] = log.Last };
        var reply = await RequestOnCurrentAsync(new JsonObject { ["action"] = "resume", ["rooms"] = rooms });
        if (reply["type"]?.GetValue<string>() != "resumed") throw new ResumeRefusedException($"{Name}: resume answered {reply.ToJsonString()}");
        var answers = reply["rooms"]!.AsObject();
        lock (_gate)
        {
            foreach (var log in logs)
            {
                var answer = answers[log.Room]?.AsObject() ?? throw new InvalidOperationException($"{Name}: resume did not answer for {log.Room}: {reply.ToJsonString()}");
                if (answer["error"] is { } error) throw new InvalidOperationException($"{Name}: resume refused {log.Room}: {error.ToJsonString()}");
                log.Resumed(answer["recovered"]!.GetValue<bool>());
                Replayed += answer["replayed"]?.GetValue<int>() ?? 0;
            }
        }
        _signal.Notify();
    }

    private async Task OpenAsync()
    {
        if (_socket is not null) Abort();
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
        timeout.CancelAfter(ReplyTimeout);
        try
        {
            await socket.ConnectAsync(url, timeout.Token);
        }
        catch (OperationCanceledException) when (!_disposed.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"{Name}: the WebSocket upgrade took longer than {ReplyTimeout.TotalSeconds:0} s");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _socket = socket;
        Connections++;
        var generation = Interlocked.Increment(ref _generation);
        _receiving = ReceiveAsync(socket, generation);
    }

    private async Task<JsonObject> RequestOnCurrentAsync(JsonObject body)
    {
        var socket = _socket ?? throw new ConnectionLostException($"{Name}: not connected");
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _reply, reply);
        try
        {
            if (socket.State != WebSocketState.Open) throw new ConnectionLostException($"{Name}: the connection is {socket.State}");
            using (var sendTimeout = new CancellationTokenSource(ReplyTimeout))
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(body.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, sendTimeout.Token);
            }
            return await reply.Task.WaitAsync(ReplyTimeout);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name}: sending {body["action"]} took longer than {ReplyTimeout.TotalSeconds:0} s");
        }
        finally
        {
            Interlocked.CompareExchange(ref _reply, null, reply);
        }
    }

    private async Task ReceiveAsync(ClientWebSocket socket, int generation)
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
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), _disposed.Token);
                    length += result.Count;
                } while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close) break;
                Take(JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, length))!.AsObject());
                _signal.Notify();
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Dropped: handled below like a close.
        }
        Volatile.Read(ref _reply)?.TrySetException(new ConnectionLostException($"{Name}: the connection closed"));
        if (generation == Volatile.Read(ref _generation) && !_disposed.IsCancellationRequested && ReconnectWhenCut)
        {
            Cuts++;
            _reconnecting = ReconnectInBackgroundAsync();
        }
        _signal.Notify();
    }

    private async Task ReconnectInBackgroundAsync()
    {
        await Task.Yield();
        await _turn.WaitAsync();
        try
        {
            // Someone (a send that gave up on the connection) may have reconnected already.
            if (_socket?.State != WebSocketState.Open) await ReconnectOnTurnAsync();
        }
        catch (Exception e)
        {
            Broken = e;
        }
        finally
        {
            _turn.Release();
            _signal.Notify();
        }
    }

    /// <summary>Envelopes of a room go to its log; presence notices are not part of any stream; the rest are replies.</summary>
    private void Take(JsonObject frame)
    {
        switch (frame["type"]?.GetValue<string>())
        {
            case "batch":
                foreach (var message in frame["messages"]!.AsArray()) Take(message!.AsObject());
                return;
            case "message" when frame["room"]?.GetValue<string>() is { } room && frame["seq"] is { } seq:
                StreamLog? log;
                lock (_gate)
                {
                    log = _rooms.GetValueOrDefault(room);
                    log?.Accept(frame["epoch"]!.GetValue<string>(), seq.GetValue<long>(), frame["id"]!.GetValue<string>());
                }
                return;
            case "message" or "presence":
                return;
            default:
                // Our replies carry a type; API Gateway's own error frame ({"message":"Internal server error",…}) does not.
                Volatile.Read(ref _reply)?.TrySetResult(frame);
                return;
        }
    }

    private void Abort()
    {
        // The receive loop of a connection dropped on purpose must not take its end for a cut.
        Interlocked.Increment(ref _generation);
        _socket?.Abort();
        _socket?.Dispose();
        _socket = null;
    }

    private void ThrowIfBroken()
    {
        if (Broken is { } broken) throw new InvalidOperationException($"{Name} could not continue", broken);
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        Abort();
        await _receiving.ContinueWith(_ => { }, TaskScheduler.Default);
        await _reconnecting.ContinueWith(_ => { }, TaskScheduler.Default);
        _disposed.Dispose();
        _turn.Dispose();
    }

    private sealed class ConnectionLostException(string message) : Exception(message);

    private sealed class ResumeRefusedException(string message) : Exception(message);
}

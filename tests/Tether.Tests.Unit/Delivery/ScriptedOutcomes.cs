using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tether.Contracts;
using Tether.Delivery;

namespace Tether.Tests.Delivery;

/// <summary>A Management API whose every post ends as <c>answer</c> says, and which keeps what each connection was sent, in order.</summary>
internal sealed class ScriptedOutcomes(Func<string, string, Task<ManagementResult>> answer) : IManagementApiClient
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _bodies = new(StringComparer.Ordinal);

    public static readonly ManagementResult Delivered = new(ManagementOutcome.Delivered, 200, null, null, 1);
    public static readonly ManagementResult Gone = new(ManagementOutcome.Gone, 410, "GoneException", null, 1);
    public static readonly ManagementResult CircuitOpen = new(ManagementOutcome.Failed, 0, null, "circuit open", 1, CircuitOpen: true);

    public Uri Endpoint { get; } = new("http://127.0.0.1:9/test");

    /// <summary>What each post to <paramref name="connectionId"/> carried, in the order the posts were made.</summary>
    public IReadOnlyList<string> Bodies(string connectionId) => _bodies.TryGetValue(connectionId, out var b) ? [.. b] : [];

    public Task<ManagementResult> PostAsync(string connectionId, ReadOnlyMemory<byte> payload, string payloadSha256, CancellationToken cancellationToken = default)
    {
        var body = Encoding.UTF8.GetString(payload.Span);
        _bodies.GetOrAdd(connectionId, _ => new()).Enqueue(body);
        return answer(connectionId, body);
    }

    public Task<(ManagementResult Result, RemoteConnectionInfo? Info)> GetAsync(string connectionId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<ManagementResult> DeleteAsync(string connectionId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public static OutboundMessage Message(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        return new OutboundMessage(text, payload, Envelopes.Sha256Hex(payload));
    }

    public static async Task<DeliveryDispatcher> StartAsync(IManagementApiClient client, IGoneConnections gone, DeliveryOptions options, TimeProvider? time = null)
    {
        var dispatcher = new DeliveryDispatcher(client, gone, Options.Create(options), NullLogger<DeliveryDispatcher>.Instance, time);
        await dispatcher.StartAsync(CancellationToken.None);
        return dispatcher;
    }

    /// <summary>Polls a condition the dispatcher's workers change.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(5);
        }
    }
}

/// <summary>410 reports, answered as <c>answer</c> says.</summary>
internal sealed class ScriptedGone(Func<string, string?, Task<bool>> answer) : IGoneConnections
{
    public ConcurrentQueue<(string ConnectionId, string? Room, string? User)> Reports { get; } = new();

    public Task<bool> GoneAsync(string connectionId, string? seenInRoom, string? seenInUser)
    {
        Reports.Enqueue((connectionId, seenInRoom, seenInUser));
        return answer(connectionId, seenInRoom);
    }
}

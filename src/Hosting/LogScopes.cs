using Microsoft.Extensions.Logging;
using Tether.Contracts;

namespace Tether.Hosting;

/// <summary>
/// Log scopes that tie a line to a connection, a room and the API Gateway request that caused it. The request id
/// travels with grain calls in Orleans' <see cref="RequestContext"/>, so a grain's lines carry the request that
/// started them even on another silo.
/// </summary>
public static class LogScopes
{
    public const string RequestIdKey = "tether.request_id";

    /// <summary>
    /// Opens a scope for an incoming request and stamps <paramref name="requestId"/> on the grain calls made under it.
    /// Dispose it when the request's work is done.
    /// </summary>
    public static IDisposable? BeginRequest(ILogger logger, string? connectionId, string? requestId, string? room = null)
    {
        if (!string.IsNullOrEmpty(requestId)) RequestContext.Set(RequestIdKey, requestId);
        var scope = logger.BeginScope(Pairs(connectionId, room, user: null, requestId));
        return new Both(scope, clearRequestId: !string.IsNullOrEmpty(requestId));
    }

    internal static List<KeyValuePair<string, object?>> Pairs(string? connectionId, string? room, string? user, string? requestId)
    {
        var pairs = new List<KeyValuePair<string, object?>>(3);
        if (connectionId is not null) pairs.Add(new("ConnectionId", connectionId));
        if (room is not null) pairs.Add(new("Room", room));
        if (user is not null) pairs.Add(new("User", user));
        if (!string.IsNullOrEmpty(requestId)) pairs.Add(new("GatewayRequestId", requestId));
        return pairs;
    }

    private sealed class Both(IDisposable? scope, bool clearRequestId) : IDisposable
    {
        public void Dispose()
        {
            if (clearRequestId) RequestContext.Remove(RequestIdKey);
            scope?.Dispose();
        }
    }
}

/// <summary>Wraps every call to our grains in a scope naming the connection, room or user it is about.</summary>
internal sealed class GrainLogScopeFilter(ILoggerFactory loggers) : IIncomingGrainCallFilter
{
    private static readonly GrainType ConnectionType = GrainType.Create(TetherGrainTypes.Connection);
    private static readonly GrainType RoomType = GrainType.Create(TetherGrainTypes.Room);
    private static readonly GrainType UserType = GrainType.Create(TetherGrainTypes.User);
    private static readonly GrainType ConnectorType = GrainType.Create(TetherGrainTypes.Connector);
    private readonly ILogger _logger = loggers.CreateLogger("Tether.Grains");

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var type = context.TargetId.Type;
        if (type != ConnectionType && type != RoomType && type != UserType && type != ConnectorType)
        {
            await context.Invoke();
            return;
        }
        // The connector serves /connect for every connection: the one a call is about is its first argument.
        var key = type == ConnectorType ? context.Request.GetArgument(0) as string : context.TargetId.Key.ToString();
        var requestId = RequestContext.Get(LogScopes.RequestIdKey) as string;
        var pairs = type == ConnectionType || type == ConnectorType ? LogScopes.Pairs(key, null, null, requestId)
            : type == RoomType ? LogScopes.Pairs(null, key, null, requestId)
            : LogScopes.Pairs(null, null, key, requestId);
        using (_logger.BeginScope(pairs))
        {
            await context.Invoke();
        }
    }
}

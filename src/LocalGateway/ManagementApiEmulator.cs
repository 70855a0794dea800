using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Tether.LocalGateway;

/// <summary>Settings of the emulated Management API.</summary>
public sealed class ManagementApiEmulatorOptions
{
    public string Stage { get; set; } = "local";
    public string Region { get; set; } = "us-east-1";
    public List<AcceptedCredential> Credentials { get; set; } = [];
}

/// <summary>Counters, for tests and benchmarks.</summary>
public sealed class ManagementApiStats
{
    private long _posts, _gets, _deletes, _gone, _forbidden, _throttled, _serverErrors, _tooLarge;
    public long Posts => Interlocked.Read(ref _posts);
    public long Gets => Interlocked.Read(ref _gets);
    public long Deletes => Interlocked.Read(ref _deletes);
    public long Gone => Interlocked.Read(ref _gone);
    public long Forbidden => Interlocked.Read(ref _forbidden);
    public long Throttled => Interlocked.Read(ref _throttled);
    public long ServerErrors => Interlocked.Read(ref _serverErrors);
    public long TooLarge => Interlocked.Read(ref _tooLarge);

    /// <summary>Completes when <paramref name="condition"/> holds; re-checked after every answered call.</summary>
    public Task WaitUntilAsync(Func<ManagementApiStats, bool> condition, TimeSpan timeout) => _signal.WaitUntilAsync(() => condition(this), timeout);

    private readonly ChangeSignal _signal = new();

    internal void Count(string method, int status)
    {
        if (method == HttpMethods.Post) Interlocked.Increment(ref _posts);
        else if (method == HttpMethods.Get) Interlocked.Increment(ref _gets);
        else if (method == HttpMethods.Delete) Interlocked.Increment(ref _deletes);
        switch (status)
        {
            case 410: Interlocked.Increment(ref _gone); break;
            case 403: Interlocked.Increment(ref _forbidden); break;
            case 429: Interlocked.Increment(ref _throttled); break;
            case 413: Interlocked.Increment(ref _tooLarge); break;
            case >= 500: Interlocked.Increment(ref _serverErrors); break;
        }
        _signal.Notify();
    }
}

/// <summary>
/// API Gateway's Management API as API Gateway answers it: <c>POST/GET/DELETE /{stage}/@connections/{id}</c>,
/// SigV4 verified, 410 for unknown or still-connecting ids, 413 over 128 KiB, 429 past the stage's throttling, AWS error
/// types in <c>x-amzn-ErrorType</c>.
/// </summary>
public sealed class ManagementApiEmulator(
    ManagementApiEmulatorOptions options, IEmulatedConnections connections, FaultInjection? faults = null, TimeProvider? time = null,
    StageThrottle? throttle = null)
{
    public const int MaxPayloadBytes = 128 * 1024;
    private const string ConnectionsSegment = "/@connections/";

    private readonly SigV4Verifier _verifier = new(options.Region, "execute-api", options.Credentials, time);

    public FaultInjection Faults { get; } = faults ?? new FaultInjection();

    public ManagementApiStats Stats { get; } = new();

    /// <summary>Whether a request path is a Management API call for this emulator (any stage: a wrong one answers 403).</summary>
    public static bool IsManagementPath(PathString path) => path.Value?.Contains(ConnectionsSegment, StringComparison.Ordinal) == true;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "/";
        var queryAt = rawTarget.IndexOf('?');
        var rawPath = queryAt < 0 ? rawTarget : rawTarget[..queryAt];
        var rawQuery = queryAt < 0 ? "" : rawTarget[(queryAt + 1)..];

        var body = await ReadBodyAsync(request, context.RequestAborted);
        var status = await AnswerAsync(context, request.Method, rawPath, rawQuery, body);
        Stats.Count(request.Method, status);
    }

    private async Task<int> AnswerAsync(HttpContext context, string method, string rawPath, string rawQuery, byte[]? body)
    {
        var response = context.Response;
        if (body is null) return await ErrorAsync(response, 413, "PayloadTooLargeException", "Request entity too large");

        var headers = context.Request.Headers
            .ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        var failure = _verifier.Verify(new SignedRequest(method, rawPath, rawQuery, headers, body));
        if (failure is not null)
        {
            return failure == "Missing Authentication Token"
                ? await ErrorAsync(response, 403, "MissingAuthenticationTokenException", failure)
                : await ErrorAsync(response, 403, "ForbiddenException", failure);
        }

        var at = rawPath.IndexOf(ConnectionsSegment, StringComparison.Ordinal);
        var stage = rawPath[..at].Trim('/');
        var encodedId = rawPath[(at + ConnectionsSegment.Length)..];
        if (stage != options.Stage || encodedId.Length == 0 || encodedId.Contains('/'))
        {
            return await ErrorAsync(response, 403, "ForbiddenException", "Forbidden");
        }
        var connectionId = Uri.UnescapeDataString(encodedId);

        if (throttle?.TryTake() == false) return await ErrorAsync(response, 429, "LimitExceededException", "Rate exceeded");
        if (Faults.NextLatency() is { } latency) await Task.Delay(latency, context.RequestAborted);
        if (Faults.Next(connectionId) is { } injected) return await InjectedAsync(response, injected);

        switch (method)
        {
            case "POST":
                if (body.Length > MaxPayloadBytes) return await ErrorAsync(response, 413, "PayloadTooLargeException", "Request entity too large");
                if (connections.StateOf(connectionId) != EmulatedConnectionState.Open ||
                    !await connections.SendAsync(connectionId, body, context.RequestAborted))
                {
                    return Gone(response);
                }
                response.StatusCode = 200;
                return 200;
            case "GET":
                if (connections.StateOf(connectionId) != EmulatedConnectionState.Open || connections.InfoOf(connectionId) is not { } info) return Gone(response);
                response.StatusCode = 200;
                response.ContentType = "application/json";
                await response.WriteAsync(JsonSerializer.Serialize(new
                {
                    connectedAt = Iso(info.ConnectedAt),
                    identity = new { sourceIp = info.SourceIp, userAgent = info.UserAgent },
                    lastActiveAt = Iso(info.LastActiveAt),
                }));
                return 200;
            case "DELETE":
                if (!await connections.CloseAsync(connectionId)) return Gone(response);
                response.StatusCode = 204;
                return 204;
            default:
                return await ErrorAsync(response, 403, "ForbiddenException", "Forbidden");
        }
    }

    private static int Gone(HttpResponse response)
    {
        // API Gateway's 410 carries the error type and, often, no useful body.
        response.StatusCode = 410;
        response.Headers["x-amzn-ErrorType"] = "GoneException";
        return 410;
    }

    private Task<int> InjectedAsync(HttpResponse response, int status)
    {
        if (status == 429 && Faults.RetryAfterSeconds is { } seconds) response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return status switch
        {
            410 => Task.FromResult(Gone(response)),
            429 => ErrorAsync(response, 429, "LimitExceededException", "Rate exceeded"),
            403 => ErrorAsync(response, 403, "ForbiddenException", "Forbidden"),
            413 => ErrorAsync(response, 413, "PayloadTooLargeException", "Request entity too large"),
            _ => ErrorAsync(response, status, "InternalServerErrorException", "Internal server error"),
        };
    }

    private static async Task<int> ErrorAsync(HttpResponse response, int status, string errorType, string message)
    {
        response.StatusCode = status;
        response.Headers["x-amzn-ErrorType"] = errorType;
        response.ContentType = "application/json";
        await response.WriteAsync(JsonSerializer.Serialize(new { message }));
        return status;
    }

    /// <summary>The body, or null when it is over twice the payload limit (the rest is not worth reading).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > 2 * MaxPayloadBytes) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static string Iso(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}

public static class ManagementApiEmulatorEndpoints
{
    /// <summary>Routes every <c>/{stage}/@connections/{id}</c> request to the emulator.</summary>
    public static IEndpointRouteBuilder MapManagementApi(this IEndpointRouteBuilder app, ManagementApiEmulator emulator)
    {
        app.MapMethods("/{stage}/@connections/{**id}", [HttpMethods.Post, HttpMethods.Get, HttpMethods.Delete], emulator.HandleAsync);
        return app;
    }
}

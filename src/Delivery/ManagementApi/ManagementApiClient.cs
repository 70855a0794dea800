using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Tether.Grains;

namespace Tether.Delivery;

/// <summary>
/// API Gateway's Management API over <see cref="HttpClient"/>, signed with AWSSDK.Core's SigV4 signer
/// (service <c>execute-api</c>), behind a Polly pipeline: retry with backoff and jitter, a circuit breaker,
/// and a timeout per attempt.
/// </summary>
public sealed partial class ManagementApiClient : IManagementApiClient, IDisposable
{
    private const string Service = "execute-api";
    private const string EmptyPayloadSha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly HttpClient _http;
    private readonly AWSCredentials _credentials;
    private readonly RegionEndpoint _region;
    private readonly string _connectionsBase;
    private readonly Pipeline _pipeline;
    private readonly Pipeline _pipelineLeavingThrottles;
    private readonly ILogger _logger;
    private int _forbiddenReported;

    public ManagementApiClient(
        Uri endpoint,
        string region,
        AWSCredentials credentials,
        ManagementApiOptions options,
        ILogger<ManagementApiClient> logger,
        HttpMessageHandler? handler = null,
        DeliveryMetrics? metrics = null)
    {
        Endpoint = endpoint;
        _region = RegionEndpoint.GetBySystemName(region);
        _credentials = credentials;
        _logger = logger;
        _connectionsBase = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/@connections/";
        _http = new HttpClient(handler ?? CreateHandler(options), disposeHandler: true)
        {
            // The pipeline owns timeouts (one per attempt); HttpClient's own would cut retries short.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _pipeline = BuildPipeline(options, metrics, retryThrottled: true);
        _pipelineLeavingThrottles = BuildPipeline(options, metrics, retryThrottled: false);
    }

    public Uri Endpoint { get; }

    public Task<ManagementResult> PostAsync(
        string connectionId, ReadOnlyMemory<byte> payload, string payloadSha256, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, connectionId, payload, payloadSha256, cancellationToken);

    public Task<ManagementResult> PostOnceIfThrottledAsync(
        string connectionId, ReadOnlyMemory<byte> payload, string payloadSha256, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, connectionId, payload, payloadSha256, cancellationToken, pipeline: _pipelineLeavingThrottles);

    public async Task<(ManagementResult Result, RemoteConnectionInfo? Info)> GetAsync(
        string connectionId, CancellationToken cancellationToken = default)
    {
        RemoteConnectionInfo? info = null;
        var result = await SendAsync(HttpMethod.Get, connectionId, ReadOnlyMemory<byte>.Empty, EmptyPayloadSha256,
            cancellationToken, body => info = ParseConnectionInfo(body));
        return (result, info);
    }

    public Task<ManagementResult> DeleteAsync(string connectionId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, connectionId, ReadOnlyMemory<byte>.Empty, EmptyPayloadSha256, cancellationToken);

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// The exact URI sent on the wire: the connection id percent-encoded once (<c>=</c> → <c>%3D</c>, <c>/</c> → <c>%2F</c>).
    /// The signer encodes each path segment once more for the canonical request, as AWS does.
    /// </summary>
    public Uri ConnectionUri(string connectionId) => new(_connectionsBase + Uri.EscapeDataString(connectionId));

    private async Task<ManagementResult> SendAsync(
        HttpMethod method, string connectionId, ReadOnlyMemory<byte> payload, string payloadSha256,
        CancellationToken cancellationToken, Action<byte[]>? onSuccessBody = null, Pipeline? pipeline = null)
    {
        var uri = ConnectionUri(connectionId);
        var attempts = 0;
        var used = pipeline ?? _pipeline;
        ManagementResult result;
        try
        {
            result = await used.Run.ExecuteAsync(async ct =>
            {
                attempts++;
                using var request = await CreateSignedRequestAsync(method, uri, payload, payloadSha256, ct).ConfigureAwait(false);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                var classified = await ClassifyAsync(response, attempts, ct).ConfigureAwait(false);
                if (classified.Outcome == ManagementOutcome.Delivered && onSuccessBody is not null)
                {
                    onSuccessBody(await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false));
                }
                return classified;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException)
        {
            result = new ManagementResult(ManagementOutcome.Failed, 0, null, "circuit open: the Management API failed repeatedly", attempts, CircuitOpen: true);
        }
        catch (TimeoutRejectedException)
        {
            result = new ManagementResult(ManagementOutcome.Failed, 0, null, "timed out", attempts);
        }
        catch (HttpRequestException e)
        {
            result = new ManagementResult(ManagementOutcome.Failed, 0, null, e.HttpRequestError.ToString(), attempts);
        }

        if (result.Outcome == ManagementOutcome.Forbidden) ReportForbidden(method, uri, result);
        // A failure that opened the breaker (or came while it was open) is part of an outage, like the refusals after it.
        if (result is { Outcome: ManagementOutcome.Failed, IsTransient: true, CircuitOpen: false } && used.Breaker.CircuitState != CircuitState.Closed)
        {
            result = result with { CircuitOpen = true };
        }
        return result;
    }

    /// <summary>Builds the request and signs it; <paramref name="signedAt"/> fixes the signing time (known-answer tests).</summary>
    internal async Task<HttpRequestMessage> CreateSignedRequestAsync(
        HttpMethod method, Uri uri, ReadOnlyMemory<byte> payload, string payloadSha256, CancellationToken ct, DateTime? signedAt = null)
    {
        var request = new HttpRequestMessage(method, uri);
        var signing = new AWSSigningRequest { HttpMethod = method, RequestUri = uri };
        signing.Headers["x-amz-content-sha256"] = payloadSha256;
        if (method == HttpMethod.Post)
        {
            request.Content = new ReadOnlyMemoryContent(payload);
            request.Content.Headers.ContentType = JsonContentType;
            signing.Headers["content-type"] = "application/json";
        }

        var parameters = new AWSSigV4Parameters
        {
            Credentials = _credentials,
            Region = _region,
            Service = Service,
            SignPayload = true,
            SignedAt = signedAt,
        };
        var headers = await AWSSigV4Signer.SignAsync(signing, parameters, ct).ConfigureAwait(false);
        foreach (var (name, value) in headers.Headers)
        {
            if (string.Equals(name, "content-type", StringComparison.OrdinalIgnoreCase) ||
                string.Equals(name, "host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }

    private static async Task<ManagementResult> ClassifyAsync(HttpResponseMessage response, int attempts, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return new ManagementResult(ManagementOutcome.Delivered, status, null, null, attempts);
        }

        var errorType = ErrorType(response);
        var detail = await ReadDetailAsync(response, ct).ConfigureAwait(false);
        var outcome = response.StatusCode switch
        {
            HttpStatusCode.Gone => ManagementOutcome.Gone,
            HttpStatusCode.Forbidden => ManagementOutcome.Forbidden,
            HttpStatusCode.RequestEntityTooLarge => ManagementOutcome.TooLarge,
            HttpStatusCode.TooManyRequests => ManagementOutcome.Throttled,
            _ => ManagementOutcome.Failed,
        };
        return new ManagementResult(outcome, status, errorType, detail, attempts, RetryAfter(response));
    }

    private static string? ErrorType(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("x-amzn-ErrorType", out var values)) return null;
        var value = values.FirstOrDefault();
        var colon = value?.IndexOf(':') ?? -1;
        return colon > 0 ? value![..colon] : value;
    }

    private static async Task<string?> ReadDetailAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return body.Length == 0 ? null : body.Length > 512 ? body[..512] : body;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }

    private static RemoteConnectionInfo? ParseConnectionInfo(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            DateTimeOffset? Date(string name) =>
                root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String && e.TryGetDateTimeOffset(out var d) ? d : null;
            string? Identity(string name) =>
                root.TryGetProperty("identity", out var identity) && identity.ValueKind == JsonValueKind.Object &&
                identity.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            return new RemoteConnectionInfo(Date("connectedAt"), Date("lastActiveAt"), Identity("sourceIp"), Identity("userAgent"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A 403 is a configuration error, not a transient one: the first says what to check, the rest log at Debug.</summary>
    private void ReportForbidden(HttpMethod method, Uri uri, ManagementResult result)
    {
        if (Interlocked.Exchange(ref _forbiddenReported, 1) == 0)
        {
            LogForbidden(method, Endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/'), result.ErrorType ?? "ForbiddenException", result.Detail, _region.SystemName);
        }
        else
        {
            LogForbiddenAgain(method, uri.AbsolutePath);
        }
    }

    private static SocketsHttpHandler CreateHandler(ManagementApiOptions options) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        ConnectTimeout = options.AttemptTimeout,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
    };

    /// <summary>A resilience pipeline and the state of its circuit breaker.</summary>
    private sealed record Pipeline(ResiliencePipeline<ManagementResult> Run, CircuitBreakerStateProvider Breaker);

    private static Pipeline BuildPipeline(ManagementApiOptions options, DeliveryMetrics? metrics, bool retryThrottled)
    {
        var breaker = new CircuitBreakerStateProvider();
        static bool IsTransientException(Exception? e) => e is HttpRequestException or TimeoutRejectedException;

        var builder = new ResiliencePipelineBuilder<ManagementResult>();
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<ManagementResult>
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is null
                        ? args.Outcome.Result.IsTransient && (retryThrottled || args.Outcome.Result.Outcome != ManagementOutcome.Throttled)
                        : IsTransientException(args.Outcome.Exception)),
                DelayGenerator = args =>
                {
                    // Honour Retry-After, but never wait longer than the configured maximum.
                    TimeSpan? delay = args.Outcome.Exception is null && args.Outcome.Result.RetryAfter is { } retryAfter
                        ? (retryAfter < options.RetryMaxDelay ? retryAfter : options.RetryMaxDelay)
                        : null;
                    return ValueTask.FromResult(delay);
                },
                OnRetry = args =>
                {
                    metrics?.Retried(args.Outcome.Exception is null ? args.Outcome.Result : null, args.Outcome.Exception);
                    return ValueTask.CompletedTask;
                },
            });
        }

        var pipeline = builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ManagementResult>
            {
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
                StateProvider = breaker,
                // 429 is left out on purpose: it is often one client's full send buffer, not a dead endpoint.
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is null
                        ? args.Outcome.Result is { Outcome: ManagementOutcome.Failed, StatusCode: 0 or >= 500 }
                        : IsTransientException(args.Outcome.Exception)),
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
        return new Pipeline(pipeline, breaker);
    }
}

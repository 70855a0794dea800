using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Tether.Grains;

namespace Tether.Hooks;

/// <summary>
/// Posts signed hook calls to the application over one pooled connection set, each hook behind its own timeout and
/// circuit breaker; the disconnect hook, a notification, is also retried with backoff.
/// </summary>
internal sealed class HookClient : IDisposable
{
    /// <summary>Attempts after the first for a notification: about 6 s of backoff in all before it is given up.</summary>
    public const int NotificationRetries = 4;

    public static readonly TimeSpan NotificationRetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>The breaker opens when half the calls of 10 s fail (at least 10 calls), and tries again after 5 s.</summary>
    public const double BreakerFailureRatio = 0.5;

    public const int BreakerMinimumThroughput = 10;

    public static readonly TimeSpan BreakerSamplingDuration = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan BreakerBreakDuration = TimeSpan.FromSeconds(5);

    /// <summary>Connections are renewed now and then so a DNS change of the application is followed.</summary>
    public static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(2);

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _http;
    private readonly byte[] _key;
    private readonly Dictionary<HookName, (Uri Url, ResiliencePipeline<HookResponse> Pipeline)> _hooks = [];

    public HookClient(IOptions<HooksOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        _key = Encoding.UTF8.GetBytes(value.SigningSecret ?? "");
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = PooledConnectionLifetime,
            AllowAutoRedirect = false,
            UseCookies = false,
        })
        {
            // Each hook's pipeline times its calls.
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        foreach (var hook in Enum.GetValues<HookName>())
        {
            var hookOptions = value.For(hook);
            if (!hookOptions.Configured) continue;
            _hooks[hook] = (new Uri(hookOptions.Url!), BuildPipeline(hook, hookOptions.Timeout, time));
        }
    }

    public bool IsConfigured(HookName hook) => _hooks.ContainsKey(hook);

    public async Task<HookCall> SendAsync(HookName hook, byte[] body, CancellationToken cancellationToken)
    {
        var (url, pipeline) = _hooks[hook];
        try
        {
            var response = await pipeline.ExecuteAsync(
                static (state, token) => state.Client.PostAsync(state.Hook, state.Url, state.Body, token),
                (Client: this, Hook: hook, Url: url, Body: body), cancellationToken).ConfigureAwait(false);
            return response switch
            {
                { Status: >= 200 and < 300, TooLarge: true } => new HookCall(HookCallOutcome.Malformed, response.Status, [], $"the answer is larger than {HooksOptions.MaxAnswerBytes} bytes"),
                { Status: >= 200 and < 300 } => new HookCall(HookCallOutcome.Answered, response.Status, response.Body, ""),
                { Status: >= 400 and < 500 } => new HookCall(HookCallOutcome.Refused, response.Status, response.TooLarge ? [] : response.Body, ""),
                _ => new HookCall(HookCallOutcome.Error, response.Status, [], $"HTTP {response.Status}"),
            };
        }
        catch (TimeoutRejectedException)
        {
            return new HookCall(HookCallOutcome.Timeout, 0, [], "no answer within the timeout");
        }
        catch (BrokenCircuitException)
        {
            return new HookCall(HookCallOutcome.CircuitOpen, 0, [], "the circuit breaker is open after repeated failures");
        }
        catch (HttpRequestException e)
        {
            return new HookCall(HookCallOutcome.Error, 0, [], e.HttpRequestError.ToString());
        }
    }

    private async ValueTask<HookResponse> PostAsync(HookName hook, Uri url, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = JsonContentType;
        request.Headers.TryAddWithoutValidation(HookSignature.Header, HookSignature.Compute(_key, body));
        request.Headers.TryAddWithoutValidation(HookSignature.HookHeader, HooksOptions.WireName(hook));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var (answer, tooLarge) = await ReadLimitedAsync(response.Content, cancellationToken).ConfigureAwait(false);
        return new HookResponse((int)response.StatusCode, answer, tooLarge);
    }

    /// <summary>Reads at most <see cref="HooksOptions.MaxAnswerBytes"/>: an application cannot make us buffer more.</summary>
    private static async Task<(byte[] Body, bool TooLarge)> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > HooksOptions.MaxAnswerBytes) return ([], true);
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[Math.Min(HooksOptions.MaxAnswerBytes + 1, (int?)content.Headers.ContentLength + 1 ?? 4096)];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length > HooksOptions.MaxAnswerBytes) return ([], true);
                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, HooksOptions.MaxAnswerBytes + 1));
            }
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            length += read;
        }
        return length > HooksOptions.MaxAnswerBytes ? ([], true) : (buffer[..length], false);
    }

    private static ResiliencePipeline<HookResponse> BuildPipeline(HookName hook, TimeSpan timeout, TimeProvider time)
    {
        // A dead or overloaded application: not a 4xx, which is its answer.
        var failure = new PredicateBuilder<HookResponse>()
            .Handle<HttpRequestException>()
            .Handle<TimeoutRejectedException>()
            .HandleResult(r => r.Status is < 200 or >= 500);
        var builder = new ResiliencePipelineBuilder<HookResponse> { TimeProvider = time };
        if (hook == HookName.Disconnect)
        {
            builder.AddRetry(new RetryStrategyOptions<HookResponse>
            {
                ShouldHandle = new PredicateBuilder<HookResponse>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .Handle<BrokenCircuitException>()
                    .HandleResult(r => r.Status is < 200 or >= 500),
                MaxRetryAttempts = NotificationRetries,
                Delay = NotificationRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }
        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HookResponse>
            {
                ShouldHandle = failure,
                FailureRatio = BreakerFailureRatio,
                MinimumThroughput = BreakerMinimumThroughput,
                SamplingDuration = BreakerSamplingDuration,
                BreakDuration = BreakerBreakDuration,
            })
            .AddTimeout(timeout)
            .Build();
    }

    public void Dispose() => _http.Dispose();

    private sealed record HookResponse(int Status, byte[] Body, bool TooLarge);
}

using System.ComponentModel.DataAnnotations;

namespace Tether.Delivery;

/// <summary>
/// How to reach API Gateway's Management API (configuration section <c>ManagementApi</c>; the seed's
/// <c>RESPONSE_MESSAGE_URL</c> and <c>AWS_REGION</c> are honoured when the section leaves them unset).
/// </summary>
public sealed class ManagementApiOptions
{
    public const string Section = "ManagementApi";

    /// <summary>The connection URL, e.g. <c>https://{api-id}.execute-api.{region}.amazonaws.com/{stage}</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The signing region; when unset, taken from an <c>execute-api</c> host name, else <c>us-east-1</c>.</summary>
    public string? Region { get; set; }

    /// <summary>Explicit credentials; when unset, AWS's default credential chain is used.</summary>
    public string? AccessKeyId { get; set; }
    public string? SecretAccessKey { get; set; }
    public string? SessionToken { get; set; }

    /// <summary>Time allowed for one attempt of one call.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after the first attempt, for 429, 5xx, timeouts and connection errors (never 410, 403, 413).</summary>
    [Range(0, 20)]
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>First backoff delay; it doubles each retry, with jitter, up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The circuit opens when this share of calls fails (5xx, timeout, connection error) within the sampling window…</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;
    /// <summary>…and at least this many calls were made in it.</summary>
    [Range(2, int.MaxValue)]
    public int BreakerMinimumThroughput { get; set; } = 50;
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>How long an open circuit fails calls at once before it lets a trial call through.</summary>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}

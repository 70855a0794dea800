using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Tether.Delivery;

/// <summary>
/// How to reach API Gateway's Management API (configuration section <c>ManagementApi</c>; the seed's
/// <c>RESPONSE_MESSAGE_URL</c> and <c>AWS_REGION</c> are honoured when the section leaves them unset, see <see cref="Bind"/>).
/// </summary>
public sealed class ManagementApiOptions
{
    public const string Section = "ManagementApi";

    /// <summary>The connection URL, e.g. <c>https://{api-id}.execute-api.{region}.amazonaws.com/{stage}</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// The signing region; when unset, <c>AWS_REGION</c> or <c>AWS_DEFAULT_REGION</c>, else the region of an
    /// <c>execute-api</c> host name, else <c>us-east-1</c>.
    /// </summary>
    public string? Region { get; set; }

    /// <summary>Explicit credentials; when unset, AWS's default credential chain is used.</summary>
    public string? AccessKeyId { get; set; }
    public string? SecretAccessKey { get; set; }
    public string? SessionToken { get; set; }

    /// <summary>Time allowed for one attempt of one call.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after the first attempt, for 429, 5xx, timeouts and connection errors (never 410, 403, 413).</summary>
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>First backoff delay; it doubles each retry, with jitter, up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The circuit opens when this share of calls fails (5xx, timeout, connection error) within the sampling window…</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;
    /// <summary>…and at least this many calls were made in it.</summary>
    public int BreakerMinimumThroughput { get; set; } = 50;
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>How long an open circuit fails calls at once before it lets a trial call through.</summary>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The one binding step: the section, then the seed's environment names for what it leaves unset.</summary>
    public static void Bind(IConfiguration configuration, ManagementApiOptions options)
    {
        configuration.GetSection(Section).Bind(options);
        options.Endpoint = FirstNonBlank(options.Endpoint, configuration["RESPONSE_MESSAGE_URL"]);
        options.Region = FirstNonBlank(options.Region, configuration["AWS_REGION"], configuration["AWS_DEFAULT_REGION"]);
    }

    private static string? FirstNonBlank(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}

/// <summary>
/// Refuses Management API settings that cannot work. <paramref name="endpointRequired"/>: only the embedded default may
/// leave the endpoint unset (it posts to the local gateway).
/// </summary>
public sealed class ManagementApiOptionsValidator(bool endpointRequired) : IValidateOptions<ManagementApiOptions>
{
    internal const string MissingEndpoint =
        "No Management API endpoint is configured. Set ManagementApi__Endpoint (or RESPONSE_MESSAGE_URL) to the API's connection URL, " +
        "https://{api-id}.execute-api.{region}.amazonaws.com/{stage}.";

    public ValidateOptionsResult Validate(string? name, ManagementApiOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Endpoint))
        {
            if (endpointRequired) problems.Add(MissingEndpoint);
        }
        else if (EndpointProblem(options.Endpoint) is { } problem)
        {
            problems.Add(problem);
        }
        if (RegionProblem(options) is { } regionProblem) problems.Add(regionProblem);
        // The bounds of the resilience pipeline (Polly), which would otherwise refuse them when the client is built.
        Within(problems, nameof(options.AttemptTimeout), options.AttemptTimeout, TimeSpan.FromMilliseconds(10), OneDay);
        Within(problems, nameof(options.RetryBaseDelay), options.RetryBaseDelay, TimeSpan.Zero, OneDay);
        Within(problems, nameof(options.RetryMaxDelay), options.RetryMaxDelay, TimeSpan.Zero, OneDay);
        Within(problems, nameof(options.BreakerSamplingDuration), options.BreakerSamplingDuration, TimeSpan.FromMilliseconds(500), OneDay);
        Within(problems, nameof(options.BreakerBreakDuration), options.BreakerBreakDuration, TimeSpan.FromMilliseconds(500), OneDay);
        if (options.MaxRetryAttempts is < 0 or > 20) problems.Add("ManagementApi__MaxRetryAttempts must be 0 to 20.");
        if (options.BreakerFailureRatio is not (>= 0.01 and <= 1.0)) problems.Add("ManagementApi__BreakerFailureRatio must be 0.01 to 1.");
        if (options.BreakerMinimumThroughput < 2) problems.Add("ManagementApi__BreakerMinimumThroughput must be at least 2.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static readonly TimeSpan OneDay = TimeSpan.FromDays(1);

    private static void Within(List<string> problems, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max) problems.Add($"ManagementApi__{key} must be {min:c} to {max:c}.");
    }

    /// <summary>API Gateway answers 403 to a request signed for another region than its host's.</summary>
    private static string? RegionProblem(ManagementApiOptions options)
    {
        if (options.Region is not { } region || Parse(options.Endpoint) is not { } uri) return null;
        var hostRegion = ManagementApiSetup.RegionFromHost(uri.Host);
        return hostRegion is null || string.Equals(hostRegion, region, StringComparison.Ordinal)
            ? null
            : $"The signing region '{region}' (ManagementApi__Region, else AWS_REGION or AWS_DEFAULT_REGION) differs from the region " +
              $"'{hostRegion}' of the Management API host {uri.Host}; API Gateway would answer every call with 403. " +
              $"Set ManagementApi__Region to {hostRegion}, or leave it and AWS_REGION unset to take the host's.";
    }

    /// <summary>The endpoint as an absolute URL, or null when unset or not one.</summary>
    internal static Uri? Parse(string? endpoint) =>
        !string.IsNullOrWhiteSpace(endpoint) && Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out var uri) &&
        (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) ? uri : null;

    private static string? EndpointProblem(string endpoint)
    {
        if (Parse(endpoint) is not { } uri)
        {
            return $"ManagementApi__Endpoint '{endpoint}' is not an absolute http(s) URL. Expected https://{{api-id}}.execute-api.{{region}}.amazonaws.com/{{stage}}.";
        }
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            return $"ManagementApi__Endpoint '{endpoint}' must not have a query string or fragment.";
        }
        var path = uri.AbsolutePath.TrimEnd('/');
        if (path.EndsWith(ManagementApiSetup.ConnectionsSuffix, StringComparison.OrdinalIgnoreCase)) path = path[..^ManagementApiSetup.ConnectionsSuffix.Length];
        return path.Length == 0 && ManagementApiSetup.RegionFromHost(uri.Host) is not null
            ? $"ManagementApi__Endpoint '{endpoint}' has no stage. API Gateway answers 403 without it: use https://{uri.Host}/{{stage}}."
            : null;
    }
}

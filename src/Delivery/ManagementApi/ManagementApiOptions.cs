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

public sealed class ManagementApiOptionsValidator : IValidateOptions<ManagementApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ManagementApiOptions options)
    {
        var problems = new List<string>();
        if (options.MaxRetryAttempts is < 0 or > 20) problems.Add("ManagementApi__MaxRetryAttempts must be 0 to 20.");
        if (options.BreakerFailureRatio is not (>= 0.01 and <= 1.0)) problems.Add("ManagementApi__BreakerFailureRatio must be 0.01 to 1.");
        if (options.BreakerMinimumThroughput < 2) problems.Add("ManagementApi__BreakerMinimumThroughput must be at least 2.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Tether.Hosting;

/// <summary>
/// Our admin surfaces (configuration section <c>Admin</c>): the <c>/api</c> REST API, and, behind the same keys, the
/// OpenAPI document, the Prometheus endpoint and the dashboard.
/// </summary>
public sealed class AdminOptions
{
    public const string Section = "Admin";

    /// <summary>Shortest key accepted: a guessable key protects nothing.</summary>
    public const int MinKeyLength = 16;

    public const int MaxKeyLength = 1024;

    public static readonly TimeSpan DefaultMaxWait = TimeSpan.FromMinutes(2);

    /// <summary>Accepted API keys; several at once so a key can be rotated. None: every admin surface answers 401.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Longest a <c>?wait=true</c> call may wait for its deliveries.</summary>
    public TimeSpan MaxWait { get; set; } = DefaultMaxWait;

    public IReadOnlyList<string> ConfiguredKeys => [.. ApiKeys.Where(k => !string.IsNullOrEmpty(k))];
}

/// <summary>
/// Refuses keys short enough to guess (both hosts check: the silo's dashboard needs the same strength as <c>/api</c>),
/// and the settings' old names, which would otherwise be ignored in silence and leave every admin surface closed.
/// </summary>
internal sealed class AdminOptionsValidator(IConfiguration configuration) : IValidateOptions<AdminOptions>
{
    private const string RenamedSection = "Management";

    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        var problems = new List<string>();
        if (options.ConfiguredKeys.Any(k => k.Length is < AdminOptions.MinKeyLength or > AdminOptions.MaxKeyLength))
        {
            // Never echo the key itself.
            problems.Add($"Every Admin__ApiKeys__N entry must be {AdminOptions.MinKeyLength} to {AdminOptions.MaxKeyLength} characters.");
        }
        if (options.MaxWait <= TimeSpan.Zero)
        {
            problems.Add("Admin__MaxWait must be positive.");
        }
        var renamed = configuration.GetSection(RenamedSection);
        if (renamed.GetSection(nameof(AdminOptions.ApiKeys)).Exists() || renamed.GetSection(nameof(AdminOptions.MaxWait)).Exists())
        {
            problems.Add("Management__ApiKeys__N and Management__MaxWait were renamed Admin__ApiKeys__N and Admin__MaxWait: set those instead.");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Tether.LocalGateway;

namespace Tether.LocalGateway.Host;

/// <summary>
/// What the standalone gateway reads besides <see cref="LocalGatewayOptions"/>: its log level, and the AWS variables
/// that fill the region and credential pair when the <c>LocalGateway</c> section leaves them unset.
/// </summary>
internal sealed class StandaloneSettings
{
    [ConfigurationKeyName("AWS_REGION")]
    public string? AwsRegion { get; set; }

    [ConfigurationKeyName("AWS_DEFAULT_REGION")]
    public string? AwsDefaultRegion { get; set; }

    [ConfigurationKeyName("AWS_ACCESS_KEY_ID")]
    public string? AwsAccessKeyId { get; set; }

    [ConfigurationKeyName("AWS_SECRET_ACCESS_KEY")]
    public string? AwsSecretAccessKey { get; set; }

    /// <summary><c>LocalGateway__LogLevel</c>.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>The one binding step: the gateway's section, then the AWS variables for what it leaves unset.</summary>
    public static (LocalGatewayOptions Gateway, StandaloneSettings Host) Bind(IConfiguration configuration)
    {
        var gateway = new LocalGatewayOptions();
        var section = configuration.GetSection(LocalGatewayOptions.Section);
        section.Bind(gateway);
        var host = configuration.Get<StandaloneSettings>() ?? new StandaloneSettings();
        host.LogLevel = section.Get<StandaloneSettings>()?.LogLevel ?? LogLevel.Information;
        gateway.Region = FirstNonBlank(gateway.Region, host.AwsRegion, host.AwsDefaultRegion) ?? "us-east-1";
        gateway.AccessKeyId = FirstNonBlank(gateway.AccessKeyId, host.AwsAccessKeyId);
        gateway.SecretAccessKey = FirstNonBlank(gateway.SecretAccessKey, host.AwsSecretAccessKey);
        return (gateway, host);
    }

    private static string? FirstNonBlank(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}

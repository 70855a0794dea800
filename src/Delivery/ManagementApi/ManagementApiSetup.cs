using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Microsoft.Extensions.Logging;
using Tether.Contracts;

namespace Tether.Delivery;

/// <summary>Where and how the Management API client posts, resolved once at start.</summary>
public sealed record ManagementApiTarget(Uri Endpoint, string Region, AWSCredentials Credentials, string CredentialSource);

/// <summary>Resolves endpoint, region and credentials from options (seed variables included) and AWS's default chain.</summary>
public static partial class ManagementApiSetup
{
    public const string DefaultRegion = "us-east-1";

    /// <summary>Added per call; an endpoint configured with it would post to <c>/@connections/@connections/…</c>.</summary>
    internal const string ConnectionsSuffix = "/@connections";

    public static ManagementApiTarget Resolve(ManagementApiOptions options, bool embedded, ILogger logger)
    {
        var endpoint = ResolveEndpoint(options, embedded, logger);
        // A region other than the host's was refused by the options' validation.
        var region = options.Region ?? RegionFromHost(endpoint.Host) ?? DefaultRegion;

        var (credentials, source) = ResolveCredentials(options, embedded);
        return new ManagementApiTarget(endpoint, region, credentials, source);
    }

    /// <summary>The validated endpoint, or the local gateway's in the embedded default; a trailing <c>/@connections</c> is dropped.</summary>
    private static Uri ResolveEndpoint(ManagementApiOptions options, bool embedded, ILogger logger)
    {
        var uri = ManagementApiOptionsValidator.Parse(options.Endpoint)
                  ?? (embedded ? new Uri(LocalDevelopment.GatewayEndpoint) : throw new InvalidOperationException(ManagementApiOptionsValidator.MissingEndpoint));
        var path = uri.AbsolutePath.TrimEnd('/');
        if (path.EndsWith(ConnectionsSuffix, StringComparison.OrdinalIgnoreCase))
        {
            LogConnectionsSuffixRemoved(logger);
            path = path[..^ConnectionsSuffix.Length];
        }
        return new UriBuilder(uri) { Path = path }.Uri;
    }

    private static (AWSCredentials Credentials, string Source) ResolveCredentials(ManagementApiOptions options, bool embedded)
    {
        if (!string.IsNullOrEmpty(options.AccessKeyId) && !string.IsNullOrEmpty(options.SecretAccessKey))
        {
            return string.IsNullOrEmpty(options.SessionToken)
                ? (new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), "configuration (ManagementApi__AccessKeyId)")
                : (new SessionAWSCredentials(options.AccessKeyId, options.SecretAccessKey, options.SessionToken), "configuration (ManagementApi__AccessKeyId, session)");
        }

        // The first run must work offline: without any credential source the default chain would end at the
        // EC2 instance metadata address and hang, so the embedded default signs with the local pair instead.
        if (embedded && !AnyAwsCredentialSource())
        {
            return (new BasicAWSCredentials(LocalDevelopment.AccessKeyId, LocalDevelopment.SecretAccessKey),
                "the local development pair (no AWS credentials found)");
        }

        var resolved = DefaultAWSCredentialsIdentityResolver.GetCredentials();
        if (resolved is EnvironmentVariablesAWSCredentials environment)
        {
            // The SDK re-reads the environment on every signature; a process's environment does not change under it, so
            // the values are read once. Refreshing sources (roles, SSO, instance metadata) keep their own cache and expiry.
            var values = environment.GetCredentials();
            resolved = values.UseToken
                ? new SessionAWSCredentials(values.AccessKey, values.SecretKey, values.Token)
                : new BasicAWSCredentials(values.AccessKey, values.SecretKey);
            return (resolved, "the AWS default credential chain (environment variables)");
        }
        return (resolved, "the AWS default credential chain");
    }

    /// <summary>Whether anything the AWS default chain reads, short of instance metadata, is present.</summary>
    public static bool AnyAwsCredentialSource()
    {
        string[] variables =
        [
            "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
        ];
        if (variables.Any(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)))) return true;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return File.Exists(Path.Combine(home, ".aws", "credentials")) || File.Exists(Path.Combine(home, ".aws", "config"));
    }

    /// <summary>The region in <c>{api-id}.execute-api.{region}.amazonaws.com</c>, or null for other hosts.</summary>
    public static string? RegionFromHost(string host)
    {
        var parts = host.Split('.');
        return parts.Length >= 5 && parts[1] == "execute-api" && parts[3] == "amazonaws" ? parts[2] : null;
    }
}

namespace Tether.LocalGateway;

/// <summary>The local gateway's settings (configuration section <c>LocalGateway</c>, environment <c>LocalGateway__*</c>).</summary>
public sealed class LocalGatewayOptions
{
    public const string Section = "LocalGateway";

    /// <summary>The stage variable the template's integrations send as the integration secret header.</summary>
    public const string SecretStageVariable = "integrationSecret";

    /// <summary>The template parameter that holds the backend's base URL.</summary>
    public const string BackendUrlParameter = "BackendUrl";

    /// <summary>Whether the API hosts the gateway in the embedded default.</summary>
    public bool Enabled { get; set; } = true;

    public int Port { get; set; } = 8080;

    /// <summary>
    /// Unset: localhost only (127.0.0.1 and ::1) — a development tool has no business on other interfaces. A container
    /// sets <c>0.0.0.0</c> (docker-compose), where the container's network is the boundary.
    /// </summary>
    public string? ListenAddress { get; set; }

    public string Stage { get; set; } = "local";

    /// <summary>The backend's base URL (fills the template's <c>BackendUrl</c> parameter). The embedded gateway uses the API's own address.</summary>
    public string? BackendUrl { get; set; }

    /// <summary>A CloudFormation template (JSON); unset uses <c>infra/websocket-api.json</c>, compiled in.</summary>
    public string? TemplatePath { get; set; }

    /// <summary>Values for the template's parameters.</summary>
    public Dictionary<string, string> Parameters { get; set; } = [];

    /// <summary>Stage variables that replace the template's (e.g. <c>integrationSecret</c>).</summary>
    public Dictionary<string, string> StageVariables { get; set; } = [];

    /// <summary>SigV4 region of the Management API; unset: <c>AWS_REGION</c>, else <c>us-east-1</c>.</summary>
    public string? Region { get; set; }

    /// <summary>The credential pair the Management API accepts (unset: the backend's in the embedded default).</summary>
    public string? AccessKeyId { get; set; }
    public string? SecretAccessKey { get; set; }

    /// <summary>Closes a connection without traffic either way for this long (API Gateway: 10 minutes).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Closes every connection at this age (API Gateway: 2 hours).</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Misbehaviour of the Management API on purpose, for tests and benchmarks.</summary>
    public FaultOptions Faults { get; set; } = new();
}

/// <summary>Initial fault injection; <see cref="FaultInjection"/> can change it at run time.</summary>
public sealed class FaultOptions
{
    public double ThrottleShare { get; set; }

    public double ServerErrorShare { get; set; }

    /// <summary>Added to every Management API call, plus or minus up to <see cref="LatencyJitter"/>.</summary>
    public TimeSpan Latency { get; set; }

    public TimeSpan LatencyJitter { get; set; }

    public int? RetryAfterSeconds { get; set; }

    public void ApplyTo(FaultInjection faults)
    {
        faults.ThrottleShare = ThrottleShare;
        faults.ServerErrorShare = ServerErrorShare;
        faults.Latency = Latency;
        faults.LatencyJitter = LatencyJitter;
        faults.RetryAfterSeconds = RetryAfterSeconds;
    }
}

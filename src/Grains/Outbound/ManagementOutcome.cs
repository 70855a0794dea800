namespace Tether.Grains;

/// <summary>How one Management API call ended. Expected outcomes are values, never exceptions.</summary>
public enum ManagementOutcome
{
    /// <summary>2xx: posted, found or deleted.</summary>
    Delivered,
    /// <summary>410: the connection no longer exists (or its <c>$connect</c> has not finished).</summary>
    Gone,
    /// <summary>429 after every retry: throttled, or the client's send buffer is full.</summary>
    Throttled,
    /// <summary>413: over 128 KiB.</summary>
    TooLarge,
    /// <summary>403: wrong URL, stage or region, a bad signature or missing IAM permission.</summary>
    Forbidden,
    /// <summary>5xx, timeouts, connection errors after every retry, an open circuit, or anything unexpected.</summary>
    Failed,
}

/// <summary>
/// The result of one Management API call, after retries. <paramref name="CircuitOpen"/>: the call (or its last retry)
/// was refused by the open or half-open circuit breaker without reaching the Management API.
/// </summary>
public readonly record struct ManagementResult(
    ManagementOutcome Outcome, int StatusCode, string? ErrorType, string? Detail, int Attempts, TimeSpan? RetryAfter = null, bool CircuitOpen = false)
{
    public bool IsTransient => Outcome is ManagementOutcome.Throttled || (Outcome is ManagementOutcome.Failed && StatusCode is 0 or >= 500);
}

/// <summary>GetConnection's answer: what API Gateway knows about the connection.</summary>
public sealed record RemoteConnectionInfo(DateTimeOffset? ConnectedAt, DateTimeOffset? LastActiveAt, string? SourceIp, string? UserAgent);

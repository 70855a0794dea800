using Microsoft.Extensions.Options;

namespace Tether.Contracts;

/// <summary>Connection behaviour (configuration section <c>Connections</c>).</summary>
public sealed class ConnectionOptions
{
    public const string Section = "Connections";

    /// <summary>
    /// After <c>/connect</c> accepts a connection, API Gateway answers 410 to posts until it has finished the
    /// <c>$connect</c>, which it does as soon as <c>/connect</c> has answered. A post that meets 410 within this window
    /// (counted from when the connection was stored, just before <c>/connect</c> answers) is made again once it has
    /// passed; a 410 after it removes the connection at once.
    /// </summary>
    public TimeSpan ConnectGracePeriod { get; set; } = DefaultConnectGracePeriod;

    /// <summary>
    /// A few seconds: enough for a slow <c>/connect</c> answer to reach API Gateway and for the handshake to finish; not
    /// 30 s, or a client that vanishes moments after connecting keeps costing a wasted post per message that long.
    /// </summary>
    public static readonly TimeSpan DefaultConnectGracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often each connection is checked with API Gateway (GetConnection) in case its <c>$disconnect</c> never came
    /// (API Gateway sends it best effort). The checks are driven by the sweep index: one durable reminder per bucket
    /// of connections accepted in the same minute, so they survive silo failures; a bucket spreads its checks over
    /// half an interval.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>API Gateway closes every connection after 2 hours: one older than this is dropped without asking.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(2);

    /// <summary>At most this many sweep checks per second per silo, so a burst of due checks cannot flood API Gateway.</summary>
    public int SweepChecksPerSecond { get; set; } = 20;

    /// <summary>
    /// How long a connection's grain stays in memory without calls before Orleans collects it. Its state is stored,
    /// so an idle connection costs its stored state and memberships, not an activation; its next message reactivates
    /// it (one storage read). Must be longer than Orleans' collection quantum (<c>Orleans__GrainCollection__CollectionQuantum</c>,
    /// default 1 minute) and than <see cref="ConnectGracePeriod"/>.
    /// </summary>
    public TimeSpan IdleActivationAge { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// Refuses connection settings that cannot work. How <see cref="ConnectionOptions.IdleActivationAge"/> compares with
/// Orleans' collection quantum, and <see cref="ConnectionOptions.SweepInterval"/> with its minimum reminder period, is
/// checked where both are known, with Orleans' settings.
/// </summary>
public sealed class ConnectionOptionsValidator : IValidateOptions<ConnectionOptions>
{
    public ValidateOptionsResult Validate(string? name, ConnectionOptions options)
    {
        var problems = new List<string>();
        if (options.ConnectGracePeriod < TimeSpan.Zero) problems.Add("Connections__ConnectGracePeriod must not be negative.");
        if (options.SweepInterval < TimeSpan.FromSeconds(1))
        {
            problems.Add("Connections__SweepInterval must be at least 1 second.");
        }
        if (options.MaxLifetime <= TimeSpan.Zero) problems.Add("Connections__MaxLifetime must be positive.");
        if (options.SweepChecksPerSecond < 1) problems.Add("Connections__SweepChecksPerSecond must be at least 1.");
        if (options.IdleActivationAge <= options.ConnectGracePeriod)
        {
            problems.Add("Connections__IdleActivationAge must be longer than Connections__ConnectGracePeriod (a connection's grace recheck runs in its activation).");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tether.LocalGateway;

/// <summary>Refuses local gateway settings it cannot run with, naming each key as an operator sets it.</summary>
public sealed partial class LocalGatewayOptionsValidator : IValidateOptions<LocalGatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalGatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        // A fixed port: the backend's Management API client is pointed at it.
        if (options.Port is < 1 or > 65535) problems.Add("LocalGateway__Port must be a port number, 1 to 65535.");
        if (!StageName().IsMatch(options.Stage ?? "")) problems.Add("LocalGateway__Stage must be 1 to 128 letters, digits, '-' or '_'.");
        if (options.IdleTimeout <= TimeSpan.Zero || options.MaxLifetime <= TimeSpan.Zero)
        {
            problems.Add("LocalGateway__IdleTimeout and LocalGateway__MaxLifetime must be positive.");
        }
        if (options.Faults.ThrottleShare is < 0 or > 1 || options.Faults.ServerErrorShare is < 0 or > 1)
        {
            problems.Add("LocalGateway__Faults__ThrottleShare and LocalGateway__Faults__ServerErrorShare must be between 0 and 1.");
        }
        if (options.Faults.Latency < TimeSpan.Zero) problems.Add("LocalGateway__Faults__Latency must not be negative.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex StageName();
}

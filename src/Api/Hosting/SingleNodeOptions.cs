using Microsoft.Extensions.Options;

namespace Tether.Api.Hosting;

/// <summary>The embedded shape outside Development (configuration section <c>Hosting</c>).</summary>
internal sealed class SingleNodeOptions
{
    public const string Section = "Hosting";

    /// <summary>
    /// The operator's statement that one process with in-memory state is meant (no <c>ConnectionStrings__redis</c>):
    /// connections and rooms are lost on every restart and shared with no other node. Outside Development, a missing
    /// Redis connection string is far more often a mistake than a choice, so the embedded shape needs this to start.
    /// </summary>
    public bool SingleNode { get; set; }
}

internal sealed class SingleNodeOptionsValidator(IHostEnvironment environment) : IValidateOptions<SingleNodeOptions>
{
    public ValidateOptionsResult Validate(string? name, SingleNodeOptions options) =>
        options.SingleNode || environment.IsDevelopment()
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                "ConnectionStrings__redis is not set, so this node would run alone with in-memory state (lost on restart, shared with " +
                "no other node). Set ConnectionStrings__redis for the cluster shape, or Hosting__SingleNode=true to choose the " +
                $"single-node shape. (Environment: {environment.EnvironmentName}.)");
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Tether.Grains;

namespace Tether.Hooks;

/// <summary>
/// Refuses hook settings that cannot work or are unsafe: unsigned calls, plain http outside Development, timeouts
/// that would let a hook chain outlast API Gateway's 29 s integration limit, rpc actions that shadow Tether's own.
/// </summary>
internal sealed class HooksOptionsValidator(IHostEnvironment environment) : IValidateOptions<HooksOptions>
{
    /// <summary>Actions Tether answers itself (docs/protocol.md), now or in the protocol's next version.</summary>
    private static readonly string[] BuiltInActions = ["joinroom", "leaveroom", "sendmessage", "sendto", "ping", "resume", "history"];

    /// <summary>The hooks each integration call may run, one after the other (a client message runs one of its three).</summary>
    private static readonly (string Call, HookName[] Hooks)[] Chains =
    [
        ("/connect", [HookName.Connect]),
        ("/handle-event joinroom", [HookName.Join]),
        ("/handle-event sendmessage/sendto", [HookName.Publish]),
        ("/handle-event rpc action", [HookName.Rpc]),
    ];

    public const int MaxActionLength = 64;

    public ValidateOptionsResult Validate(string? name, HooksOptions options)
    {
        var problems = new List<string>();
        var hooks = Enum.GetValues<HookName>();
        foreach (var hook in hooks)
        {
            var setting = $"{HooksOptions.Section}__{HooksOptions.SettingName(hook)}";
            var hookOptions = options.For(hook);
            if (hookOptions.Timeout <= TimeSpan.Zero || hookOptions.Timeout > HooksOptions.IntegrationBudget)
            {
                problems.Add($"{setting}__Timeout must be more than 0 and at most {HooksOptions.IntegrationBudget.TotalSeconds:0} s (API Gateway ends an integration call after 29 s).");
            }
            if (!Enum.IsDefined(hookOptions.FailurePolicy))
            {
                problems.Add($"{setting}__FailurePolicy must be deny or allow.");
            }
            if (!hookOptions.Configured) continue;
            if (!Uri.TryCreate(hookOptions.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)
                || !string.IsNullOrEmpty(url.UserInfo))
            {
                problems.Add($"{setting}__Url must be an absolute https URL without credentials in it.");
            }
            else if (url.Scheme != Uri.UriSchemeHttps && !environment.IsDevelopment())
            {
                problems.Add($"{setting}__Url must be https outside Development: the calls carry users, messages and the connection's data. (Environment: {environment.EnvironmentName}.)");
            }
        }

        if (options.Rpc.Configured && options.Rpc.FailurePolicy == HookFailurePolicy.Allow)
        {
            problems.Add("Hooks__Rpc__FailurePolicy cannot be allow: a failed rpc call has no answer to reply with.");
        }
        var actions = options.Rpc.Actions;
        if (options.Rpc.Configured != actions.Count > 0)
        {
            problems.Add("Hooks__Rpc__Url and Hooks__Rpc__Actions go together: the actions say which client messages the rpc hook answers.");
        }
        foreach (var action in actions)
        {
            if (action.Length is 0 or > MaxActionLength || !action.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':'))
            {
                problems.Add($"Every Hooks__Rpc__Actions entry must be 1 to {MaxActionLength} characters of A-Z, a-z, 0-9, '_', '-', '.' and ':'.");
            }
            else if (BuiltInActions.Contains(action, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"Hooks__Rpc__Actions cannot take '{action}': Tether answers that action itself.");
            }
        }

        foreach (var (call, chain) in Chains)
        {
            var total = chain.Where(h => options.For(h).Configured).Aggregate(TimeSpan.Zero, (sum, h) => sum + options.For(h).Timeout);
            if (total > HooksOptions.IntegrationBudget)
            {
                problems.Add($"The hooks of {call} may take {total.TotalSeconds:0.#} s together; at most {HooksOptions.IntegrationBudget.TotalSeconds:0} s fit in API Gateway's 29 s integration limit.");
            }
        }

        if (!string.IsNullOrEmpty(options.Secret) && options.Secrets.Any(s => !string.IsNullOrEmpty(s)))
        {
            problems.Add("Set Hooks__Secret or Hooks__Secrets__0..N, not both (with the list, the first entry signs).");
        }
        var secrets = options.Secrets.Append(options.Secret).Where(s => !string.IsNullOrEmpty(s)).ToList();
        if (secrets.Any(s => s!.Length is < HooksOptions.MinSecretLength or > HooksOptions.MaxSecretLength || s.Any(c => c < 0x21 || c > 0x7e)))
        {
            // Never echo the secret itself.
            problems.Add($"Hooks__Secret and every Hooks__Secrets__N entry must be {HooksOptions.MinSecretLength} to {HooksOptions.MaxSecretLength} visible ASCII characters (e.g. `openssl rand -base64 32`).");
        }
        if (hooks.Any(h => options.For(h).Configured) && options.SigningSecret is null)
        {
            problems.Add("A hook URL is set but no Hooks__Secret: every hook call is signed (X-Tether-Signature), so the application can tell Tether's calls from anyone else's.");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

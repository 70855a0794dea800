using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using Tether.Hooks;

namespace Tether.Tests.Hooks;

/// <summary>Hook settings that are unsafe or cannot work are refused at start, naming the setting (docs/hooks.md).</summary>
public sealed class HooksOptionsValidationTests
{
    private const string Secret = "a-hook-secret-of-enough-length";

    private static HooksOptions Resolve(string environment, params (string Key, string Value)[] settings)
    {
        // A later setting overrides an earlier one, as a later configuration source does.
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in settings) values[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = environment });
        services.AddTetherHooks(configuration);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<HooksOptions>>().Value;
    }

    private static string Refusal(string environment, params (string, string)[] settings) =>
        Assert.Throws<OptionsValidationException>(() => Resolve(environment, settings)).Message;

    [Fact]
    public void No_hooks_by_default()
    {
        var options = Resolve(Environments.Production);

        Assert.All(Enum.GetValues<HookName>(), h => Assert.False(options.For(h).Configured));
        Assert.Equal(TimeSpan.FromSeconds(2), options.Publish.Timeout);
        Assert.Equal(HookFailurePolicy.Deny, options.Publish.FailurePolicy);
    }

    [Fact]
    public void A_plain_http_hook_is_refused_outside_development_and_accepted_in_it()
    {
        (string, string)[] settings = [("Hooks:Publish:Url", "http://app.internal/publish"), ("Hooks:Secret", Secret)];

        Assert.Contains("Hooks__Publish__Url must be https outside Development", Refusal(Environments.Production, settings), StringComparison.Ordinal);
        Assert.True(Resolve(Environments.Development, settings).Publish.Configured);
        Assert.True(Resolve(Environments.Production, ("Hooks:Publish:Url", "https://app.internal/publish"), ("Hooks:Secret", Secret)).Publish.Configured);
    }

    [Theory]
    [InlineData("Hooks:Join:Url", "not a url", "Hooks__Join__Url")]
    [InlineData("Hooks:Join:Url", "ftp://app/join", "Hooks__Join__Url")]
    [InlineData("Hooks:Join:Url", "https://user:pass@app/join", "Hooks__Join__Url")]
    [InlineData("Hooks:Join:Timeout", "00:00:00", "Hooks__Join__Timeout")]
    [InlineData("Hooks:Connect:Timeout", "00:00:26", "Hooks__Connect__Timeout")]
    [InlineData("Hooks:Secret", "short", "Hooks__Secret")]
    public void Settings_that_cannot_work_are_refused(string key, string value, string named)
    {
        var message = Refusal(Environments.Development, ("Hooks:Join:Url", "https://app/join"), ("Hooks:Secret", Secret), (key, value));

        Assert.Contains(named, message, StringComparison.Ordinal);
        Assert.DoesNotContain("short", message.Replace("short of", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void A_hook_without_a_secret_is_refused_since_every_call_is_signed()
    {
        Assert.Contains("no Hooks__Secret", Refusal(Environments.Development, ("Hooks:Connect:Url", "https://app/connect")), StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_list_of_secrets_the_first_signs()
    {
        var options = Resolve(Environments.Production, ("Hooks:Secrets:0", Secret + "-new"), ("Hooks:Secrets:1", Secret + "-old"));

        Assert.Equal(Secret + "-new", options.SigningSecret);
        Assert.Contains("not both", Refusal(Environments.Production, ("Hooks:Secret", Secret), ("Hooks:Secrets:0", Secret)), StringComparison.Ordinal);
    }

    [Fact]
    public void Rpc_actions_come_as_a_list_or_comma_separated_and_may_not_shadow_tethers_own()
    {
        var options = Resolve(Environments.Production, ("Hooks:Rpc:Url", "https://app/rpc"), ("Hooks:Secret", Secret), ("Hooks:Rpc:Actions", "typing, move"));

        Assert.Equal(["typing", "move"], options.Rpc.Actions);
        Assert.Contains("'sendmessage'", Refusal(Environments.Production, ("Hooks:Rpc:Url", "https://app/rpc"), ("Hooks:Secret", Secret), ("Hooks:Rpc:Actions:0", "sendmessage")), StringComparison.Ordinal);
        Assert.Contains("go together", Refusal(Environments.Production, ("Hooks:Rpc:Url", "https://app/rpc"), ("Hooks:Secret", Secret)), StringComparison.Ordinal);
        Assert.Contains("cannot be allow", Refusal(Environments.Production, ("Hooks:Rpc:Url", "https://app/rpc"), ("Hooks:Secret", Secret),
            ("Hooks:Rpc:Actions", "typing"), ("Hooks:Rpc:FailurePolicy", "allow")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_hook_timeout_that_would_outlast_api_gateways_29_seconds_is_refused()
    {
        var message = Refusal(Environments.Production, ("Hooks:Connect:Url", "https://app/connect"), ("Hooks:Secret", Secret), ("Hooks:Connect:Timeout", "00:00:28"));

        Assert.Contains("Hooks__Connect__Timeout", message, StringComparison.Ordinal);
        Assert.Contains("29 s", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Signatures_verify_with_any_accepted_secret_in_constant_time_and_refuse_anything_else()
    {
        var body = Encoding.UTF8.GetBytes("""{"connectionId":"abc="}""");
        var current = Encoding.UTF8.GetBytes(Secret + "-new");
        var old = Encoding.UTF8.GetBytes(Secret + "-old");
        var signature = HookSignature.Compute(current, body);

        Assert.Matches("^sha256=[0-9a-f]{64}$", signature);
        Assert.True(HookSignature.Verify([old, current], body, signature));
        Assert.False(HookSignature.Verify([old], body, signature));
        Assert.False(HookSignature.Verify([current], Encoding.UTF8.GetBytes("""{"connectionId":"abd="}"""), signature));
        Assert.False(HookSignature.Verify([current], body, "sha256=zz"));
        Assert.False(HookSignature.Verify([current], body, null));
    }
}

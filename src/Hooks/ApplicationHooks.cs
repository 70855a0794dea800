using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Hooks;

/// <summary>
/// The HTTP implementation of <see cref="IApplicationHooks"/>: reads the application's answers strictly, applies each
/// hook's failure policy, counts and logs failures (docs/hooks.md).
/// </summary>
internal sealed class ApplicationHooks(
    HookClient client, DisconnectNotifications notifications, IOptions<HooksOptions> options, HookMetrics metrics, HookFailureLog failures)
    : IApplicationHooks
{
    public const int MaxCodeLength = 64;

    public const int MaxRefusalMessageLength = 512;

    private static readonly JsonDocumentOptions AnswerOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    private readonly HashSet<string> _rpcActions = new(options.Value.Rpc.Actions, StringComparer.Ordinal);

    public bool IsConfigured(HookName hook) => client.IsConfigured(hook);

    public bool IsRpcAction(string action) => _rpcActions.Contains(action);

    public async Task<HookResult> CallAsync(HookName hook, JsonObject request, Func<JsonElement, string?> checkAnswer)
    {
        ArgumentNullException.ThrowIfNull(checkAnswer);
        if (!client.IsConfigured(hook)) return HookResult.Proceed;
        var started = Stopwatch.GetTimestamp();
        var call = await client.SendAsync(hook, JsonSerializer.SerializeToUtf8Bytes(request), CancellationToken.None).ConfigureAwait(false);
        switch (call.Outcome)
        {
            case HookCallOutcome.Answered:
                if (ReadAnswer(call.Body, checkAnswer, out var answer) is { } problem)
                {
                    call = call with { Outcome = HookCallOutcome.Malformed, Detail = problem };
                    break;
                }
                metrics.Called(hook, call.MetricLabel, started);
                return new HookResult(null, answer);
            case HookCallOutcome.Refused:
                metrics.Called(hook, call.MetricLabel, started);
                return new HookResult(Refusal(hook, call), null);
        }

        metrics.Called(hook, call.MetricLabel, started);
        failures.Failed(hook, call);
        return options.Value.For(hook).FailurePolicy == HookFailurePolicy.Allow
            ? HookResult.Proceed
            : new HookResult(new ErrorReply(503, "hook_unavailable", $"The application's {HooksOptions.WireName(hook)} hook did not answer usably; try again later."), null);
    }

    public void Notify(HookName hook, JsonObject request)
    {
        if (!client.IsConfigured(hook)) return;
        if (!notifications.TryQueue(hook, JsonSerializer.SerializeToUtf8Bytes(request)))
        {
            metrics.Dropped(hook);
            failures.Dropped(hook);
        }
    }

    /// <summary>Parses a 2xx answer (an empty one is <c>null</c>); returns what is wrong with it, or null.</summary>
    private static string? ReadAnswer(byte[] body, Func<JsonElement, string?> checkAnswer, out JsonElement answer)
    {
        answer = default;
        if (body.Length == 0 || body.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
        {
            body = "null"u8.ToArray();
        }
        try
        {
            using var document = JsonDocument.Parse(body, AnswerOptions);
            answer = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return "the answer is not JSON";
        }
        return checkAnswer(answer);
    }

    /// <summary>
    /// The application's 4xx as the client's error: its <c>code</c> and <c>message</c> when they keep to the rules
    /// (a code of lowercase letters, digits and '_'; a message of printable text), a code naming the hook otherwise.
    /// </summary>
    private static ErrorReply Refusal(HookName hook, HookCall call)
    {
        string? code = null;
        string? message = null;
        try
        {
            using var document = JsonDocument.Parse(call.Body, AnswerOptions);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String) code = c.GetString();
                if (root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) message = m.GetString();
            }
        }
        catch (JsonException)
        {
            // No body, or not JSON: the refusal stands, described by us.
        }
        if (code is null || code.Length is 0 or > MaxCodeLength || !code.All(ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '_'))
        {
            code = HooksOptions.WireName(hook) + "_refused";
        }
        if (message is null || message.Length > MaxRefusalMessageLength || message.Any(char.IsControl))
        {
            message = $"The application refused this ({HooksOptions.WireName(hook)} hook, HTTP {call.Status}).";
        }
        return new ErrorReply(call.Status, code, message);
    }
}

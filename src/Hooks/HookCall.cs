namespace Tether.Hooks;

/// <summary>How one call to the application ended, before its answer is read for meaning.</summary>
internal enum HookCallOutcome
{
    /// <summary>2xx with an answer within <see cref="HooksOptions.MaxAnswerBytes"/>.</summary>
    Answered,

    /// <summary>4xx: the application's refusal.</summary>
    Refused,

    Timeout,

    /// <summary>Connection failed, 5xx, or a status that is neither 2xx nor 4xx.</summary>
    Error,

    /// <summary>A 2xx answer over the size limit.</summary>
    Malformed,

    /// <summary>Not called: the hook's circuit breaker is open.</summary>
    CircuitOpen,
}

/// <summary>The outcome of one call, with the status and answer body when there was an answer.</summary>
internal sealed record HookCall(HookCallOutcome Outcome, int Status, byte[] Body, string Detail)
{
    public string MetricLabel => Outcome switch
    {
        HookCallOutcome.Answered => "ok",
        HookCallOutcome.Refused => "refused",
        HookCallOutcome.Timeout => "timeout",
        HookCallOutcome.Malformed => "malformed",
        HookCallOutcome.CircuitOpen => "circuit_open",
        _ => "error",
    };
}

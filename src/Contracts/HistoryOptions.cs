using Microsoft.Extensions.Options;

namespace Tether.Contracts;

/// <summary>Per-stream message history (configuration section <c>History</c>, contract §7).</summary>
public sealed class HistoryOptions
{
    public const string Section = "History";

    public const int DefaultSize = 100;

    public const int MaxSize = 10_000;

    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);

    /// <summary>How long a stream remembers the <c>requestId</c>s it accepted (contract §7: 5 minutes).</summary>
    public static readonly TimeSpan RequestIdWindow = TimeSpan.FromMinutes(5);

    /// <summary>Messages kept per room and per user; <c>0</c> turns history, <c>since</c> and <c>resume</c> off.</summary>
    public int Size { get; set; } = DefaultSize;

    /// <summary>How long a message stays in the history at most.</summary>
    public TimeSpan Ttl { get; set; } = DefaultTtl;

    public bool Enabled => Size > 0;
}

/// <summary>Refuses history settings that cannot work, naming the setting as an operator sets it.</summary>
public sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    public ValidateOptionsResult Validate(string? name, HistoryOptions options)
    {
        var problems = new List<string>();
        if (options.Size is < 0 or > HistoryOptions.MaxSize) problems.Add($"History__Size must be between 0 and {HistoryOptions.MaxSize}.");
        if (options.Ttl <= TimeSpan.Zero || options.Ttl > TimeSpan.FromDays(7)) problems.Add("History__Ttl must be positive and at most 7.00:00:00.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

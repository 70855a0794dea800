using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tether.Contracts;

/// <summary>
/// Per-connection and per-room limits (configuration section <c>Limits</c>), read by the API and the grains.
/// Each refusal is an error reply to the client (docs/protocol.md); <c>0</c> turns a numeric limit off.
/// </summary>
public sealed class LimitOptions
{
    public const string Section = "Limits";

    /// <summary>Largest envelope (the message with what we wrap around it) posted to a connection; API Gateway's own limit is the ceiling.</summary>
    public int MaxMessageBytes { get; set; } = TetherStorage.MaxPayloadBytes;

    /// <summary>Longest room name, at most <see cref="RoomNames.MaxLength"/>.</summary>
    public int MaxRoomNameLength { get; set; } = RoomNames.MaxLength;

    /// <summary>
    /// Optional regular expression a room name must match in full, on top of the fixed rules (no white space, control
    /// or format characters, no broken surrogates), e.g. <c>^[A-Za-z0-9_.:-]+$</c>.
    /// </summary>
    public string? RoomNamePattern { get; set; }

    /// <summary>Rooms one connection may be in at once, the default room included.</summary>
    public int MaxRoomsPerConnection { get; set; } = 100;

    /// <summary>Members one room may have; a join beyond it is refused with <c>room_full</c>.</summary>
    public int MaxMembersPerRoom { get; set; } = 100_000;

    /// <summary>Sustained client messages per second per connection (a token bucket in the connection's grain).</summary>
    public double MessagesPerSecond { get; set; } = 50;

    /// <summary>How many messages a connection may send at once before <see cref="MessagesPerSecond"/> applies.</summary>
    public int MessageBurst { get; set; } = 100;

    /// <summary>A room name pattern gets this long per name; a pathological pattern cannot stall a request.</summary>
    internal static readonly TimeSpan RoomNameMatchTimeout = TimeSpan.FromMilliseconds(50);

    private Regex? _pattern;

    /// <summary>Whether <paramref name="name"/> is a room name under the fixed rules and these limits.</summary>
    public bool IsValidRoomName(string? name)
    {
        if (!RoomNames.IsValid(name) || name!.Length > MaxRoomNameLength) return false;
        if (string.IsNullOrEmpty(RoomNamePattern)) return true;
        _pattern ??= new Regex(RoomNamePattern, RegexOptions.CultureInvariant, RoomNameMatchTimeout);
        try
        {
            return _pattern.IsMatch(name);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>What a room name may be, for error messages.</summary>
    public string RoomNameRule => string.IsNullOrEmpty(RoomNamePattern)
        ? $"A room name is 1 to {MaxRoomNameLength} characters without spaces, control or format characters."
        : $"A room name is 1 to {MaxRoomNameLength} characters matching {RoomNamePattern}.";
}

/// <summary>Refuses limits that cannot work, saying which one and why.</summary>
public sealed class LimitOptionsValidator : IValidateOptions<LimitOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitOptions options)
    {
        var problems = new List<string>();
        if (options.MaxMessageBytes is < 256 or > TetherStorage.MaxPayloadBytes)
        {
            problems.Add($"Limits__MaxMessageBytes must be 256 to {TetherStorage.MaxPayloadBytes} (API Gateway's limit).");
        }
        if (options.MaxRoomNameLength is < 1 or > RoomNames.MaxLength) problems.Add($"Limits__MaxRoomNameLength must be 1 to {RoomNames.MaxLength}.");
        if (options.MaxRoomsPerConnection < 0) problems.Add("Limits__MaxRoomsPerConnection must not be negative (0 = no limit).");
        if (options.MaxMembersPerRoom < 0) problems.Add("Limits__MaxMembersPerRoom must not be negative (0 = no limit).");
        if (options.MessagesPerSecond < 0 || !double.IsFinite(options.MessagesPerSecond))
        {
            problems.Add("Limits__MessagesPerSecond must be a finite number, 0 or more (0 = no limit).");
        }
        else if (options.MessagesPerSecond > 0 && options.MessageBurst < 1)
        {
            problems.Add("Limits__MessageBurst must be at least 1 when Limits__MessagesPerSecond is set.");
        }
        if (!string.IsNullOrEmpty(options.RoomNamePattern) && !IsRegex(options.RoomNamePattern))
        {
            problems.Add("Limits__RoomNamePattern is not a valid regular expression.");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static bool IsRegex(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, LimitOptions.RoomNameMatchTimeout);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

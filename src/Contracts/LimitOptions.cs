using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tether.Contracts;

/// <summary>
/// Per-connection and per-room limits (configuration section <c>Limits</c>), read by the API and the grains.
/// Each refusal is a contract error reply; <c>0</c> turns a numeric limit off.
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

    private Regex? _pattern;

    /// <summary>Whether <paramref name="name"/> is a room name under the fixed rules and these limits.</summary>
    public bool IsValidRoomName(string? name)
    {
        if (!RoomNames.IsValid(name) || name!.Length > MaxRoomNameLength) return false;
        if (string.IsNullOrEmpty(RoomNamePattern)) return true;
        _pattern ??= new Regex(RoomNamePattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
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

    /// <summary>Why these settings cannot work, or null.</summary>
    public string? Problem()
    {
        if (MaxMessageBytes is < 256 or > TetherStorage.MaxPayloadBytes)
            return $"Limits:MaxMessageBytes must be 256 to {TetherStorage.MaxPayloadBytes} (API Gateway's limit).";
        if (MaxRoomNameLength is < 1 or > RoomNames.MaxLength)
            return $"Limits:MaxRoomNameLength must be 1 to {RoomNames.MaxLength}.";
        if (MaxRoomsPerConnection < 0) return "Limits:MaxRoomsPerConnection must not be negative (0 = no limit).";
        if (MaxMembersPerRoom < 0) return "Limits:MaxMembersPerRoom must not be negative (0 = no limit).";
        if (MessagesPerSecond < 0 || double.IsNaN(MessagesPerSecond) || double.IsInfinity(MessagesPerSecond))
            return "Limits:MessagesPerSecond must be a finite number, 0 or more (0 = no limit).";
        if (MessagesPerSecond > 0 && MessageBurst < 1) return "Limits:MessageBurst must be at least 1 when Limits:MessagesPerSecond is set.";
        if (!string.IsNullOrEmpty(RoomNamePattern))
        {
            try
            {
                _ = new Regex(RoomNamePattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
            }
            catch (ArgumentException)
            {
                return "Limits:RoomNamePattern is not a valid regular expression.";
            }
        }
        return null;
    }
}

/// <summary>Refuses to start with limits that cannot work, saying which one and why.</summary>
public sealed class LimitOptionsValidator : IValidateOptions<LimitOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitOptions options) =>
        options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}

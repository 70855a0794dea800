using System.Text;

namespace Tether.Abstractions;

/// <summary>What a room name may be: 1–128 characters, no control or white-space characters, no broken surrogates.</summary>
public static class RoomNames
{
    public const int MaxLength = 128;

    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength) return false;
        foreach (var rune in name.EnumerateRunes())
        {
            if (rune == Rune.ReplacementChar || Rune.IsControl(rune) || Rune.IsWhiteSpace(rune)) return false;
        }
        return true;
    }
}

/// <summary>
/// API Gateway connection ids (e.g. <c>R0oXAdfD0kwCH6w=</c>): base64-like characters only. They end up in
/// Management API URLs, so nothing else (no <c>.</c>, <c>%</c> or spaces) may pass.
/// </summary>
public static class ConnectionIds
{
    public const int MaxLength = 128;

    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength &&
        id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '/' or '=');
}

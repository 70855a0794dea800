using System.Globalization;
using System.Text;

namespace Tether.Contracts;

/// <summary>
/// What a room name may be at most: 1–128 characters, no control, white-space or format characters (no invisible
/// or right-to-left overrides that make two names look alike), no broken surrogates. <see cref="LimitOptions"/>
/// can narrow this further.
/// </summary>
public static class RoomNames
{
    public const int MaxLength = 128;

    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength) return false;
        foreach (var rune in name.EnumerateRunes())
        {
            if (rune == Rune.ReplacementChar || Rune.IsControl(rune) || Rune.IsWhiteSpace(rune) ||
                Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format)
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>
/// What a user id may be: 1–256 characters, no control characters, and not white space alone (a user grain's key
/// must have something in it).
/// </summary>
public static class UserIds
{
    public const int MaxLength = 256;

    public const string Rule = "A user id is 1 to 256 characters, not only white space, without control characters.";

    public static bool IsValid(string? user) =>
        !string.IsNullOrWhiteSpace(user) && user.Length <= MaxLength && !user.Any(char.IsControl);
}

/// <summary>
/// API Gateway connection ids (e.g. <c>R0oXAdfD0kwCH6w=</c>): base64 characters with optional trailing <c>=</c>
/// padding. They end up in Management API URLs, so nothing else (no <c>.</c>, <c>%</c> or spaces) may pass;
/// the <c>/</c> of the base64 alphabet is percent-encoded wherever an id is put in a path.
/// </summary>
public static class ConnectionIds
{
    public const int MaxLength = 128;

    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength) return false;
        var body = id.AsSpan().TrimEnd('=');
        if (body.Length == 0 || id.Length - body.Length > 2) return false;
        foreach (var c in body)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '/')) return false;
        }
        return true;
    }
}

/// <summary>
/// Room patterns from a token's rooms claim: a name, or <c>*</c> for any run of characters (<c>team-*</c>,
/// <c>*-public</c>, <c>*</c>). A null list means no restriction.
/// </summary>
public static class RoomPatterns
{
    public const int MaxPatterns = 100;

    public static bool IsValidPattern(string? pattern) =>
        !string.IsNullOrEmpty(pattern) && pattern.Length <= RoomNames.MaxLength && RoomNames.IsValid(pattern);

    public static bool Allows(IReadOnlyList<string>? patterns, string room)
    {
        if (patterns is null) return true;
        foreach (var pattern in patterns)
        {
            if (Matches(pattern, room)) return true;
        }
        return false;
    }

    /// <summary>Glob match with <c>*</c> only; linear backtracking to the last star, so no pattern can blow up.</summary>
    public static bool Matches(string pattern, string name)
    {
        int p = 0, n = 0, star = -1, resume = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && pattern[p] != '*' && pattern[p] == name[n])
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++resume;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}

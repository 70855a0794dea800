using System.Security.Cryptography;

namespace Tether.Hooks;

/// <summary><c>X-Tether-Signature: sha256=&lt;lowercase hex HMAC-SHA256 of the request body&gt;</c>.</summary>
public static class HookSignature
{
    public const string Header = "X-Tether-Signature";

    public const string HookHeader = "X-Tether-Hook";

    private const string Prefix = "sha256=";

    public static string Compute(byte[] key, ReadOnlySpan<byte> body) => Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(key, body));

    /// <summary>Whether <paramref name="header"/> is the signature of <paramref name="body"/> with one of <paramref name="keys"/> (constant time).</summary>
    public static bool Verify(IEnumerable<byte[]> keys, ReadOnlySpan<byte> body, string? header)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (header is null || !header.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        byte[] given;
        try
        {
            given = Convert.FromHexString(header.AsSpan(Prefix.Length));
        }
        catch (FormatException)
        {
            return false;
        }
        var matched = false;
        foreach (var key in keys)
        {
            matched |= CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, body), given);
        }
        return matched;
    }
}

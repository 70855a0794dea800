using System.Security.Cryptography;
using System.Text;

namespace Tether.Hosting;

/// <summary>
/// The one comparison of every secret check (admin API keys, integration secrets): SHA-256 digests compared against
/// every expected digest without an early exit, so neither a secret's contents nor its length nor which one matched
/// shows in the timing.
/// </summary>
public static class SecretDigests
{
    /// <summary>Longer presented values are refused without hashing; no accepted secret is that long.</summary>
    public const int MaxPresentedLength = 1024;

    public static byte[] Digest(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Hashes <paramref name="presented"/> on the stack and compares it with each of <paramref name="expected"/>.</summary>
    public static bool MatchesAny(IReadOnlyList<byte[]> expected, string? presented)
    {
        if (expected.Count == 0 || string.IsNullOrEmpty(presented) || presented.Length > MaxPresentedLength) return false;
        Span<byte> bytes = stackalloc byte[MaxPresentedLength * 3];
        var length = Encoding.UTF8.GetBytes(presented, bytes);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..length], digest);

        var match = false;
        foreach (var candidate in expected)
        {
            match |= CryptographicOperations.FixedTimeEquals(candidate, digest);
        }
        return match;
    }
}

using System.Security.Cryptography;

namespace Tether.Grains;

/// <summary>Names of the streams history is kept for, and new epochs.</summary>
public static class HistoryStreams
{
    public static string Room(string room) => "room:" + room;

    public static string User(string user) => "user:" + user;

    /// <summary>A new epoch: 16 random hex characters, never reused in practice.</summary>
    public static string NewEpoch() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}

using System.Globalization;

namespace Tether.Contracts;

/// <summary>
/// How a large room's membership is split over <see cref="IRoomShardGrain"/>s: extendible hashing on a
/// stable hash of the connection id. A shard <c>i</c> at depth <c>d</c> owns the members whose hash has <c>i</c> in
/// its low <c>d</c> bits; splitting it moves the members with bit <c>d</c> set to shard <c>i + 2^d</c>. Shard keys
/// never change when a split deepens them, so a split touches exactly two shards.
/// </summary>
public static class RoomShards
{
    /// <summary>The deepest split: 65,536 shards per room.</summary>
    public const int MaxDepth = 16;

    public const int MaxShards = 1 << MaxDepth;

    /// <summary>
    /// FNV-1a over the id's UTF-16 code units: the same in every process and every .NET version, unlike
    /// <see cref="string.GetHashCode()"/>, because shard ownership is persisted.
    /// </summary>
    public static uint Hash(string connectionId)
    {
        var hash = 2166136261u;
        foreach (var c in connectionId)
        {
            hash = (hash ^ (c & 0xFFu)) * 16777619u;
            hash = (hash ^ (uint)(c >> 8)) * 16777619u;
        }
        return hash;
    }

    public static bool Owns(uint hash, int index, int depth) => (hash & Mask(depth)) == (uint)index;

    public static int IndexAt(uint hash, int depth) => (int)(hash & Mask(depth));

    /// <summary>The shard grain's key: the index first, so the room name (which may contain anything) needs no escaping.</summary>
    public static string Key(string room, int index) => index.ToString(CultureInfo.InvariantCulture) + "/" + room;

    public static (int Index, string Room) ParseKey(string key) =>
        TryParseKey(key, out var parsed) ? parsed : throw new FormatException($"'{key}' is not a room shard key (index/room).");

    public static bool TryParseKey(string key, out (int Index, string Room) parsed)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && int.TryParse(key.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            parsed = (index, key[(slash + 1)..]);
            return true;
        }
        parsed = default;
        return false;
    }

    /// <summary>The longest <c>Rooms__ShardHandOverTimeout</c>: well inside the 10-minute response timeout of the call that waits.</summary>
    public static readonly TimeSpan MaxHandOverTimeout = TimeSpan.FromMinutes(5);

    private static uint Mask(int depth) => depth == 0 ? 0u : (1u << depth) - 1u;
}

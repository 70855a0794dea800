using System.Globalization;

using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// Where a connection sits in the sweep index: the UTC minute of API Gateway's <c>connectedAt</c> and a shard of a
/// stable hash of its id. A minute keeps every bucket's connections the same age, so a whole bucket passes API
/// Gateway's two-hour lifetime at once; the shards spread a minute's registrations over many grains and silos (500/s,
/// API Gateway's default connect rate per account, is ~230 ids per bucket). A registration stores one id whatever the
/// bucket's size (<see cref="IMemberSets"/>).
/// </summary>
public static class SweepBuckets
{
    private const int ShardBits = 7;

    /// <summary>Shards per minute.</summary>
    public const int ShardsPerMinute = 1 << ShardBits;

    private const string MinuteFormat = "yyyyMMddHHmm";

    public static string Key(string connectionId, DateTimeOffset connectedAt)
    {
        // The high bits: room shards use the low bits of the same hash, and the two splits should be independent.
        var shard = RoomShards.Hash(connectionId) >> (32 - ShardBits);
        var minute = connectedAt.ToUniversalTime();
        return minute.ToString(MinuteFormat, CultureInfo.InvariantCulture) + "/" + shard.ToString("D3", CultureInfo.InvariantCulture);
    }

    /// <summary>The end of the minute a bucket covers: every connection in it was accepted by API Gateway before this.</summary>
    public static DateTimeOffset End(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash != MinuteFormat.Length || !DateTimeOffset.TryParseExact(key[..slash], MinuteFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var minute))
        {
            throw new ArgumentException($"'{key}' is not a sweep bucket key.", nameof(key));
        }
        return minute + TimeSpan.FromMinutes(1);
    }
}

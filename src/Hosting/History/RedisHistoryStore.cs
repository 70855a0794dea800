using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Hosting;

/// <summary>
/// History in Redis (the cluster shape), so an acknowledged message outlives the silo that accepted it. Per stream: a
/// sorted set of the messages scored by seq, trimmed to <c>History__Size</c>; a key with the epoch; and one key per
/// accepted <c>requestId</c> (5 minutes). All share a hash tag, and an append writes them in one script (one round trip)
/// that also renews their expiry (<c>History__Ttl</c>) and refuses a seq already stored. Sorted sets rather than Redis streams: every Redis-compatible
/// server we run on (Garnet included) has them, and a group of messages is one script call.
/// </summary>
public sealed class RedisHistoryStore(
    TetherRedisConnection redis,
    IOptions<HistoryOptions> options,
    TimeProvider time) : IHistoryStore
{
    // The epoch is kept while the stream exists; without it (first use, expiry, a lost Redis) the stream starts again.
    private const string OpenScript = """
        local epoch = redis.call('GET', KEYS[1])
        if not epoch then
          redis.call('DEL', KEYS[2])
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return {ARGV[1], '0'}
        end
        local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
        if #last == 0 then return {epoch, '0'} end
        return {epoch, last[2]}
        """;

    // One round trip for a group: refuses a seq that is not after the stored ones (a second activation of the stream,
    // briefly possible after a silo's death, must not write the same seq twice), adds the messages, trims to Size, and
    // renews the expiry and the epoch. KEYS: messages, epoch, then one key per request id. ARGV: ttl ms, size, epoch,
    // request-id window ms, entry count, then seq and member per entry, then one value per request-id key.
    private const string AppendScript = """
        local count = tonumber(ARGV[5])
        local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        if #last > 0 and tonumber(last[2]) >= tonumber(ARGV[6]) then
          return redis.error_reply('TETHERSEQ seq ' .. ARGV[6] .. ' is not after the stored ' .. last[2])
        end
        for i = 0, count - 1 do
          redis.call('ZADD', KEYS[1], ARGV[6 + 2 * i], ARGV[7 + 2 * i])
        end
        redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[1])
        for k = 3, #KEYS do
          redis.call('SET', KEYS[k], ARGV[6 + 2 * count + (k - 3)], 'PX', ARGV[4])
        end
        return count
        """;

    private readonly HistoryOptions _options = options.Value;

    public async Task<StreamHead> OpenAsync(string stream)
    {
        var result = (RedisResult[])(await (await redis.DatabaseAsync()).ScriptEvaluateAsync(OpenScript,
            [EpochKey(stream), MessagesKey(stream)],
            [HistoryStreams.NewEpoch(), (long)_options.Ttl.TotalMilliseconds]))!;
        return new StreamHead((string)result[0]!, long.Parse((string)result[1]!, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    public async Task AppendAsync(string stream, string epoch, IReadOnlyList<HistoryEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0) return;
        var keys = new List<RedisKey> { MessagesKey(stream), EpochKey(stream) };
        var values = new List<RedisValue>
        {
            (long)_options.Ttl.TotalMilliseconds, _options.Size, epoch, (long)HistoryOptions.RequestIdWindow.TotalMilliseconds, entries.Count,
        };
        var requestValues = new List<RedisValue>();
        foreach (var entry in entries)
        {
            values.Add(entry.Seq);
            values.Add(Member(entry));
            if (entry.RequestId is { } requestId)
            {
                keys.Add(RequestKey(stream, requestId));
                requestValues.Add(string.Join('|', entry.Seq.ToString(CultureInfo.InvariantCulture),
                    entry.Recipients.ToString(CultureInfo.InvariantCulture), epoch, entry.MessageId));
            }
        }
        values.AddRange(requestValues);
        await (await redis.DatabaseAsync()).ScriptEvaluateAsync(AppendScript, [.. keys], [.. values]);
    }

    public async Task<IReadOnlyList<HistoryEntry>> ReadAsync(string stream, long after, long upTo, int limit)
    {
        var oldest = (time.GetUtcNow() - _options.Ttl).ToUnixTimeMilliseconds();
        var count = limit == int.MaxValue ? -1 : limit;
        var members = await (await redis.DatabaseAsync()).SortedSetRangeByScoreAsync(MessagesKey(stream), after + 1, upTo, Exclude.None, Order.Ascending, 0, count);
        var result = new List<HistoryEntry>(members.Length);
        foreach (var member in members)
        {
            var entry = Parse((byte[])member!);
            if (entry.At.ToUnixTimeMilliseconds() < oldest) continue;
            result.Add(entry);
        }
        return result;
    }

    public async Task<PublishReceipt?> FindRequestAsync(string stream, string requestId)
    {
        var value = await (await redis.DatabaseAsync()).StringGetAsync(RequestKey(stream, requestId));
        if (value.IsNull) return null;
        var parts = ((string)value!).Split('|', 4);
        return new PublishReceipt(parts[3], int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[0], CultureInfo.InvariantCulture), parts[2]);
    }

    private static RedisKey MessagesKey(string stream) => "tether:history:{" + stream + "}:messages";

    private static RedisKey EpochKey(string stream) => "tether:history:{" + stream + "}:epoch";

    private static RedisKey RequestKey(string stream, string requestId) => "tether:history:{" + stream + "}:request:" + requestId;

    // A member is "{seq}|{unix ms}|{message id}|" and the envelope's bytes: the seq keeps members unique, the rest is
    // what a replay needs. Message ids never hold '|'.
    private static byte[] Member(HistoryEntry entry)
    {
        var header = Encoding.ASCII.GetBytes(string.Join('|',
            entry.Seq.ToString(CultureInfo.InvariantCulture), entry.At.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), entry.MessageId, ""));
        return [.. header, .. entry.Payload];
    }

    private static HistoryEntry Parse(byte[] member)
    {
        var fields = new string[3];
        var start = 0;
        for (var i = 0; i < fields.Length; i++)
        {
            var end = Array.IndexOf(member, (byte)'|', start);
            fields[i] = Encoding.ASCII.GetString(member, start, end - start);
            start = end + 1;
        }
        return new HistoryEntry(long.Parse(fields[0], CultureInfo.InvariantCulture), fields[2], member[start..],
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields[1], CultureInfo.InvariantCulture)), null, 0);
    }
}

using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Hosting;

/// <summary>
/// History in Redis (the cluster shape), so an acknowledged message outlives the silo that accepted it. Per stream:
/// a Redis stream whose entry ids are the seqs (<c>{seq}-0</c>), trimmed to <c>History__Size</c>; a key with the epoch;
/// and one key per accepted <c>requestId</c> (5 minutes). All share a hash tag, and an append writes them in one
/// pipelined round trip that also renews their expiry (<c>History__Ttl</c>).
/// </summary>
public sealed class RedisHistoryStore(
    [FromKeyedServices(RedisHistoryStore.ConnectionKey)] IConnectionMultiplexer redis,
    IOptions<HistoryOptions> options,
    TimeProvider time) : IHistoryStore
{
    /// <summary>The history's own Redis connection, apart from Orleans' providers'.</summary>
    public const string ConnectionKey = "tether-history";

    // The epoch is kept while the stream exists; without it (first use, expiry, a lost Redis) the stream starts again.
    private const string OpenScript = """
        local epoch = redis.call('GET', KEYS[1])
        if not epoch then
          redis.call('DEL', KEYS[2])
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return {ARGV[1], '0-0'}
        end
        local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        if #last == 0 then return {epoch, '0-0'} end
        return {epoch, last[1][1]}
        """;

    private readonly HistoryOptions _options = options.Value;

    private IDatabase Db => redis.GetDatabase();

    public async Task<StreamHead> OpenAsync(string stream)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(OpenScript,
            [EpochKey(stream), StreamKey(stream)],
            [HistoryStreams.NewEpoch(), (long)_options.Ttl.TotalMilliseconds]))!;
        return new StreamHead((string)result[0]!, SeqOf((string)result[1]!));
    }

    public async Task AppendAsync(string stream, string epoch, IReadOnlyList<HistoryEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var ttl = _options.Ttl;
        var batch = Db.CreateBatch();
        var writes = new List<Task>(entries.Count + 3);
        foreach (var entry in entries)
        {
            writes.Add(batch.StreamAddAsync(StreamKey(stream),
                [new NameValueEntry("p", entry.Payload), new NameValueEntry("i", entry.MessageId), new NameValueEntry("t", entry.At.ToUnixTimeMilliseconds())],
                entry.Seq.ToString(CultureInfo.InvariantCulture) + "-0", _options.Size, useApproximateMaxLength: false));
            if (entry.RequestId is { } requestId)
            {
                writes.Add(batch.StringSetAsync(RequestKey(stream, requestId),
                    string.Join('|', entry.Seq.ToString(CultureInfo.InvariantCulture), entry.Recipients.ToString(CultureInfo.InvariantCulture), epoch, entry.MessageId),
                    HistoryOptions.RequestIdWindow));
            }
        }
        writes.Add(batch.KeyExpireAsync(StreamKey(stream), ttl));
        writes.Add(batch.StringSetAsync(EpochKey(stream), epoch, ttl));
        batch.Execute();
        await Task.WhenAll(writes);
    }

    public async Task<IReadOnlyList<HistoryEntry>> ReadAsync(string stream, long after, long upTo, int limit)
    {
        var oldest = (time.GetUtcNow() - _options.Ttl).ToUnixTimeMilliseconds();
        var count = limit == int.MaxValue ? (int?)null : limit;
        var entries = await Db.StreamRangeAsync(StreamKey(stream), Id(after + 1), Id(upTo), count);
        var result = new List<HistoryEntry>(entries.Length);
        foreach (var entry in entries)
        {
            var at = (long)entry["t"];
            if (at < oldest) continue;
            result.Add(new HistoryEntry(SeqOf(entry.Id!), (string)entry["i"]!, (byte[])entry["p"]!, DateTimeOffset.FromUnixTimeMilliseconds(at), null, 0));
        }
        return result;
    }

    public async Task<PublishReceipt?> FindRequestAsync(string stream, string requestId)
    {
        var value = await Db.StringGetAsync(RequestKey(stream, requestId));
        if (value.IsNull) return null;
        var parts = ((string)value!).Split('|', 4);
        return new PublishReceipt(parts[3], int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[0], CultureInfo.InvariantCulture), parts[2]);
    }

    private static RedisKey StreamKey(string stream) => "tether:history:{" + stream + "}:messages";

    private static RedisKey EpochKey(string stream) => "tether:history:{" + stream + "}:epoch";

    private static RedisKey RequestKey(string stream, string requestId) => "tether:history:{" + stream + "}:request:" + requestId;

    private static string Id(long seq) => seq.ToString(CultureInfo.InvariantCulture) + "-0";

    private static long SeqOf(string id) => long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
}

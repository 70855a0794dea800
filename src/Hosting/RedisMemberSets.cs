using Microsoft.Extensions.Options;
using Orleans.Configuration;
using StackExchange.Redis;
using Tether.Grains;

namespace Tether.Hosting;

/// <summary>
/// Member sets as Redis sets (the cluster shape): a join is one <c>SADD</c>, a leave one <c>SREM</c>, an activation one
/// <c>SMEMBERS</c>, whatever the set's size. Keys are <c>{service id}/membersets/{room/…, shard/… or sweep/…}</c>: under the
/// service id, as Orleans' keys are, so clusters sharing a Redis keep apart. Only commands Garnet has too.
/// </summary>
public sealed class RedisMemberSets(TetherRedisConnection redis, IOptions<ClusterOptions> cluster) : IMemberSets
{
    // The new set is built under a key of its own and renamed over the old one: RENAME is atomic on every server,
    // where Garnet lets another client read a set between DEL and SADD, in MULTI/EXEC and (under load) in a script.
    // Members go in slices: unpack puts its values on Lua's stack, which holds a few thousand, and a shard may hand
    // over more members than that.
    private const string ReplaceScript = """
        redis.call('DEL', KEYS[2])
        for i = 1, #ARGV, 1000 do
          redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
        end
        redis.call('RENAME', KEYS[2], KEYS[1])
        return #ARGV
        """;

    private readonly string _prefix = cluster.Value.ServiceId + "/membersets/";

    public async Task<IReadOnlyCollection<string>> ReadAsync(string name)
    {
        var members = await (await redis.DatabaseAsync()).SetMembersAsync(Key(name));
        return [.. members.Select(m => (string)m!)];
    }

    public async Task AddAsync(string name, string member) => await (await redis.DatabaseAsync()).SetAddAsync(Key(name), member);

    public async Task RemoveAsync(string name, IReadOnlyCollection<string> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0) return;
        await (await redis.DatabaseAsync()).SetRemoveAsync(Key(name), [.. members.Select(m => (RedisValue)m)]);
    }

    public async Task ReplaceAsync(string name, IReadOnlyCollection<string> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var database = await redis.DatabaseAsync();
        if (members.Count == 0)
        {
            await database.KeyDeleteAsync(Key(name));
            return;
        }
        await database.ScriptEvaluateAsync(ReplaceScript, [Key(name), Key(name + "/replacing")], [.. members.Select(m => (RedisValue)m)]);
    }

    public async Task DeleteAsync(string name) => await (await redis.DatabaseAsync()).KeyDeleteAsync(Key(name));

    private RedisKey Key(string name) => _prefix + name;
}

namespace Tether.Api.Hosting;

/// <summary>Failures that mean the cluster could not serve a request right now (not that the request was wrong).</summary>
internal static class ClusterFailures
{
    /// <summary>
    /// Orleans' own (a silo unreachable or declared dead, a rejected message), a timeout, or a Redis error a grain
    /// let out because its storage was unreachable — also wrapped, as Orleans' Redis storage wraps it on reads. Orleans'
    /// Redis reminder table (a sweep bucket's reminder, registered on a <c>/connect</c>) and its grain storage's writes
    /// keep only the Redis error's text, so their exception types count by themselves.
    /// </summary>
    public static bool IsUnavailable(Exception e) =>
        e is OrleansException or TimeoutException or StackExchange.Redis.RedisException
            or Orleans.Reminders.Redis.RedisRemindersException or Orleans.Persistence.Redis.RedisStorageException
        || (e.InnerException is { } inner && IsUnavailable(inner));
}

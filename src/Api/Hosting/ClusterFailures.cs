namespace Tether.Api.Hosting;

/// <summary>Failures that mean the cluster could not serve a request right now (not that the request was wrong).</summary>
internal static class ClusterFailures
{
    /// <summary>
    /// Orleans' own (a silo unreachable or declared dead, a rejected message), a timeout, or a Redis error a grain
    /// let out because its storage was unreachable — also wrapped, as Orleans' Redis storage wraps it.
    /// </summary>
    public static bool IsUnavailable(Exception e) =>
        e is OrleansException or TimeoutException or StackExchange.Redis.RedisException
        || (e.InnerException is { } inner && IsUnavailable(inner));
}

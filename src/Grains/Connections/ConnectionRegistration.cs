using Tether.Contracts;

namespace Tether.Grains;

/// <summary>
/// What a stored connection is registered with, in this order: its sweep bucket, the batch registry, then its rooms
/// and its user together. Shared by the stateless <c>/connect</c> and the connection's grain, which puts back a
/// registration its removal must spare. Every step is idempotent.
/// </summary>
internal static class ConnectionRegistration
{
    /// <summary>Registers <paramref name="connectionId"/> as <paramref name="state"/> stores it; returns the rooms that were full (left out).</summary>
    public static async Task<List<string>> RegisterAsync(IGrainFactory grains, string connectionId, ConnectionState state, IReadOnlyList<string> rooms)
    {
        // In the sweep index before the rooms and before /connect answers: a connection whose $disconnect never comes
        // is still found by its bucket's checks.
        await grains.SweepBucket(SweepBuckets.Key(connectionId, state.ConnectedAt)).Register(connectionId);
        // Before any room or user has it: the dispatchers that post to it learn it from the registry.
        if (state.Batch) await grains.BatchRegistry(BatchRegistry.BucketOf(connectionId)).Add(connectionId);

        var joins = rooms.Select(r => grains.Room(r).Join(connectionId, state.User)).ToList();
        var userJoin = state.User is { } user ? grains.User(user).AddConnection(connectionId) : Task.CompletedTask;
        var counts = await Task.WhenAll(joins);
        await userJoin;
        // A full room is left out rather than refusing the whole connection.
        return [.. rooms.Where((_, i) => counts[i] == IRoomGrain.Full)];
    }
}

using System.Runtime.CompilerServices;

namespace Tether.Contracts;

/// <summary>
/// Grain types, pinned with <c>[GrainType]</c> on the grain classes: they are part of every persisted grain id (Redis
/// keys, reminders), so renaming a class must not orphan its state. The values are Orleans' own convention for the
/// class names, so ids written before the pin are unchanged.
/// </summary>
public static class TetherGrainTypes
{
    public const string Connection = "connection";
    public const string Room = "room";
    public const string RoomShard = "roomshard";
    public const string User = "user";
    public const string SweepBucket = "sweepbucket";
    public const string BatchRegistry = "batchregistry";
    public const string DirectMessage = "directmessage";
    public const string Connector = "connector";
}

/// <summary>
/// References to Tether's grains by key, from the pinned grain type and an interface type resolved once, because
/// <c>IGrainFactory.GetGrain&lt;T&gt;(string)</c> reads the interface's attributes on every call (see
/// <c>docs/decisions/grain-references.md</c>).
/// </summary>
public static class GrainReferences
{
    private static readonly GrainType ConnectionType = GrainType.Create(TetherGrainTypes.Connection);
    private static readonly GrainType RoomType = GrainType.Create(TetherGrainTypes.Room);
    private static readonly GrainType RoomShardType = GrainType.Create(TetherGrainTypes.RoomShard);
    private static readonly GrainType UserType = GrainType.Create(TetherGrainTypes.User);
    private static readonly GrainType SweepBucketType = GrainType.Create(TetherGrainTypes.SweepBucket);
    private static readonly GrainType BatchRegistryType = GrainType.Create(TetherGrainTypes.BatchRegistry);
    private static readonly GrainId ConnectorId = GrainId.Create(GrainType.Create(TetherGrainTypes.Connector), GrainIdKeyExtensions.CreateIntegerKey(0));

    public static IConnectionGrain Connection(this IGrainFactory grains, string connectionId) => Get<IConnectionGrain>(grains, ConnectionType, connectionId);

    public static IRoomGrain Room(this IGrainFactory grains, string room) => Get<IRoomGrain>(grains, RoomType, room);

    public static IRoomShardGrain RoomShard(this IGrainFactory grains, string key) => Get<IRoomShardGrain>(grains, RoomShardType, key);

    public static IUserGrain User(this IGrainFactory grains, string user) => Get<IUserGrain>(grains, UserType, user);

    public static ISweepBucketGrain SweepBucket(this IGrainFactory grains, string key) => Get<ISweepBucketGrain>(grains, SweepBucketType, key);

    public static IBatchRegistryGrain BatchRegistry(this IGrainFactory grains, int bucket) =>
        Get<IBatchRegistryGrain>(grains, BatchRegistryType, Contracts.BatchRegistry.Key(bucket));

    /// <summary>The stateless worker that sends direct messages without activating unknown recipients.</summary>
    public static IDirectMessageGrain DirectMessages(this IGrainFactory grains) => grains.GetGrain<IDirectMessageGrain>(0);

    /// <summary>The stateless worker that serves <c>/connect</c> without activating the connection's grain (every <c>/connect</c> makes one).</summary>
    public static IConnectorGrain Connector(this IGrainFactory grains) => Get(grains, ConnectorId, 0L, static (g, key) => g.GetGrain<IConnectorGrain>(key));

    private static T Get<T>(IGrainFactory grains, GrainType type, string key) where T : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return Get(grains, GrainId.Create(type, key), key, static (g, k) => g.GetGrain<T>(k));
    }

    /// <summary><paramref name="viaOrleans"/> makes the first reference of <typeparamref name="T"/>, whose interface type is kept for the others.</summary>
    private static T Get<T, TKey>(IGrainFactory grains, GrainId id, TKey key, Func<IGrainFactory, TKey, T> viaOrleans) where T : IAddressable
    {
        // A box, so that threads racing on the first call publish it with one reference write.
        if (Volatile.Read(ref InterfaceOf<T>.Type) is not { } interfaceType)
        {
            var first = viaOrleans(grains, key);
            Volatile.Write(ref InterfaceOf<T>.Type, new StrongBox<GrainInterfaceType>(((GrainReference)(object)first).InterfaceType));
            return first;
        }
        return (T)grains.GetGrain(id, interfaceType.Value);
    }

    private static class InterfaceOf<T>
    {
        public static StrongBox<GrainInterfaceType>? Type;
    }
}

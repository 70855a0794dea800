using Orleans.Concurrency;

namespace Tether.Contracts;

/// <summary>One API Gateway connection, keyed by its connection id.</summary>
public interface IConnectionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes back the registration a <c>/connect</c> stored at <paramref name="acceptedAt"/> (see <see cref="IConnectorGrain"/>),
    /// which failed part-way or finished after its caller's deadline: removed everywhere while the stored record is that
    /// one. A record another <c>/connect</c> stored since stands, and is registered everywhere again. A removal that
    /// fails is retried by the grain's repair.
    /// </summary>
    Task UndoConnect(DateTimeOffset acceptedAt, string cause);

    /// <summary>Forgets the connection: leaves every room and its user. Idempotent.</summary>
    Task Disconnect(string reason);

    /// <summary>
    /// The Management API answered 410 for this connection. Removes it everywhere, including from
    /// <paramref name="seenInRoom"/> even when this grain does not list that room, so a stale member heals, and
    /// returns true. A connection whose <c>$connect</c> was accepted moments ago is kept (API Gateway answers 410
    /// until its <c>$connect</c> completes) and checked again with GetConnection after the grace period: false.
    /// </summary>
    Task<bool> Gone(string? seenInRoom);

    /// <summary>
    /// Called by the connection's sweep bucket: <paramref name="expired"/> when the connection is past API Gateway's
    /// lifetime, otherwise when GetConnection answered 410. Removes it everywhere (counted as swept), except a
    /// connection accepted within the connect grace period on a 410. Returns whether the connection is still here.
    /// </summary>
    Task<bool> Sweep(bool expired);

    /// <summary>Runs one client message sent on this connection and returns the reply for the sender.</summary>
    Task<ClientReply> Handle(ClientCommand command);

    /// <summary>
    /// Hands a direct message to the dispatcher when the connection is known. Interleaves: two connections sending
    /// to each other must not deadlock.
    /// </summary>
    [AlwaysInterleave]
    Task<bool> Deliver(OutboundMessage message);

    [ReadOnly]
    Task<ConnectionSnapshot?> GetSnapshot();

    /// <summary>
    /// Closes the connection at API Gateway (DeleteConnection) from the silo, then forgets it. A connection API Gateway
    /// no longer has (410) is forgotten too; on any other outcome it is kept.
    /// </summary>
    Task<CloseResult> Close(string reason);
}

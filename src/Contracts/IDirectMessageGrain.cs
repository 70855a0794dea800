namespace Tether.Contracts;

/// <summary>
/// Direct messages from outside the cluster (the admin API) to a connection or a user that may not exist: storage is
/// asked first, so an unknown id costs a read rather than an activation (issue 18 point 3). A stateless worker, so it
/// runs on the silo the call lands on; key 0.
/// </summary>
public interface IDirectMessageGrain : IGrainWithIntegerKey
{
    /// <summary>Hands the message to the connection's dispatcher; false (nothing activated) when it is not connected.</summary>
    Task<bool> ToConnection(string connectionId, OutboundMessage message);

    /// <summary>Publishes on the user's stream; null (nothing activated) when the user has no connection.</summary>
    Task<PublishReceipt?> ToUser(string user, OutboundMessage message);
}

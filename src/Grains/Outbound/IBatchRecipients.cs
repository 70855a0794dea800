namespace Tether.Grains;

/// <summary>How the dispatcher learns whether a connection asked for batched delivery (<c>batch=1</c> at <c>$connect</c>).</summary>
public interface IBatchRecipients
{
    Task<bool> TakesBatchesAsync(string connectionId);
}

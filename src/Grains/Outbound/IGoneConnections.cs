namespace Tether.Grains;

/// <summary>How the dispatcher tells the grains that a post was answered 410, without knowing about grains.</summary>
public interface IGoneConnections
{
    /// <summary>
    /// Removes the connection everywhere (and from <paramref name="seenInRoom"/> or <paramref name="seenInUser"/>, the
    /// room or user whose post met the 410, so a stale member heals). False when the connection was kept because its
    /// <c>$connect</c> was accepted moments ago: later posts must not skip it.
    /// </summary>
    Task<bool> GoneAsync(string connectionId, string? seenInRoom, string? seenInUser);
}

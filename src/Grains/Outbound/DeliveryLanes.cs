namespace Tether.Grains;

/// <summary>The dispatcher's lanes that a sender names: a room's presence notices queue apart from its messages.</summary>
public static class DeliveryLanes
{
    /// <summary>The lane of <paramref name="stream"/>'s presence notices (with a short budget they wait behind its messages).</summary>
    public static string Presence(string stream) => "presence|" + stream;
}

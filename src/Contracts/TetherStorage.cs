namespace Tether.Contracts;

/// <summary>Names shared by the grains and the hosts that configure them.</summary>
public static class TetherStorage
{
    /// <summary>The grain storage provider holding connection, room and user state.</summary>
    public const string Name = "tether";

    /// <summary>API Gateway's limit for one WebSocket message (128 KiB), which also bounds <c>@connections</c> posts.</summary>
    public const int MaxPayloadBytes = 128 * 1024;
}

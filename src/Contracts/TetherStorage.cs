namespace Tether.Contracts;

/// <summary>Names shared by the grains and the hosts that configure them.</summary>
public static class TetherStorage
{
    /// <summary>The grain storage provider holding connection, room and user state.</summary>
    public const string Name = "tether";

    /// <summary>API Gateway's limit for one message, also for <c>@connections</c> posts (facts §3).</summary>
    public const int MaxPayloadBytes = 128 * 1024;
}

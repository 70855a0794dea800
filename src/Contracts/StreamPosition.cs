namespace Tether.Contracts;

/// <summary>
/// Where a client is in a room's or user's message stream (contract §7): the stream's <paramref name="Epoch"/> and the
/// last <paramref name="Seq"/> it received.
/// </summary>
[GenerateSerializer, Immutable, Alias("tether.StreamPosition")]
public sealed record StreamPosition(
    [property: Id(0)] string Epoch,
    [property: Id(1)] long Seq)
{
    /// <summary>An epoch is opaque text of at most this many characters.</summary>
    public const int MaxEpochLength = 32;

    /// <summary>The largest seq a client may name; far beyond any stream, and exact in a JavaScript number.</summary>
    public const long MaxSeq = (1L << 53) - 1;
}

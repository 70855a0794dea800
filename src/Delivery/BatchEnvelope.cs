using Tether.Contracts;

namespace Tether.Delivery;

/// <summary>
/// <c>{"type":"batch","messages":[…]}</c>: several envelopes in one post, each exactly as it would have been posted alone
/// (contract §8). Built from the envelopes' bytes, never by re-serializing them.
/// </summary>
internal static class BatchEnvelope
{
    private static readonly byte[] Head = """{"type":"batch","messages":["""u8.ToArray();
    private static readonly byte[] Tail = "]}"u8.ToArray();

    /// <summary>The bytes a batch adds around its envelopes (without the commas between them).</summary>
    public static int Overhead => Head.Length + Tail.Length;

    public static (byte[] Payload, string Sha256) Build(IReadOnlyList<OutboundMessage> messages)
    {
        var length = Overhead + messages.Count - 1;
        foreach (var message in messages) length += message.Payload.Length;
        var payload = new byte[length];
        var at = 0;
        Head.CopyTo(payload, at);
        at += Head.Length;
        for (var i = 0; i < messages.Count; i++)
        {
            if (i > 0) payload[at++] = (byte)',';
            messages[i].Payload.CopyTo(payload, at);
            at += messages[i].Payload.Length;
        }
        Tail.CopyTo(payload, at);
        return (payload, Envelopes.Sha256Hex(payload));
    }
}

using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Tether.Contracts;

/// <summary>Builds what recipients receive (see <c>docs/protocol.md</c>), serialized once per message.</summary>
public static class Envelopes
{
    // Recipients are JSON parsers, not HTML pages: keep non-ASCII text (Thai chat, emoji) readable on the wire.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string NewMessageId() => Guid.CreateVersion7().ToString("N");

    /// <summary>A chat message; <paramref name="room"/> is null for direct messages.</summary>
    public static OutboundMessage Message(
        string id, string? room, string? from, string? user, string messageJson, DateTimeOffset sentAt) =>
        Build(id, writer =>
        {
            writer.WriteString("type", "message");
            WriteNullable(writer, "room", room);
            WriteNullable(writer, "from", from);
            WriteNullable(writer, "user", user);
            writer.WritePropertyName("body");
            writer.WriteRawValue(messageJson);
            writer.WriteString("id", id);
            writer.WriteString("sentAt", sentAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"));
        });

    /// <summary>A presence notice: <paramref name="presenceEvent"/> is <c>join</c> or <c>leave</c>.</summary>
    public static OutboundMessage Presence(string presenceEvent, string room, string connectionId, string? user) =>
        Build(NewMessageId(), writer =>
        {
            writer.WriteString("type", "presence");
            writer.WriteString("event", presenceEvent);
            writer.WriteString("room", room);
            writer.WriteString("connectionId", connectionId);
            WriteNullable(writer, "user", user);
        });

    /// <summary>
    /// The same envelope with <c>"seq"</c> and <c>"epoch"</c> added as its last fields (contract §7). The message was
    /// serialized once before its place in the stream was known; this appends to those bytes instead of rebuilding.
    /// </summary>
    public static OutboundMessage WithPosition(OutboundMessage message, long seq, string epoch)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(epoch);
        var payload = message.Payload;
        var end = Array.LastIndexOf(payload, (byte)'}');
        if (end < 0) throw new ArgumentException("The payload is not a JSON object.", nameof(message));
        var buffer = new ArrayBufferWriter<byte>(payload.Length + 48 + epoch.Length);
        buffer.Write(payload.AsSpan(0, end));
        buffer.Write(",\"seq\":"u8);
        buffer.Write(System.Text.Encoding.ASCII.GetBytes(seq.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        buffer.Write(",\"epoch\":"u8);
        buffer.Write(JsonSerializer.SerializeToUtf8Bytes(epoch));
        buffer.Write("}"u8);
        var bytes = buffer.WrittenSpan.ToArray();
        return new OutboundMessage(message.Id, bytes, Sha256Hex(bytes));
    }

    public static string Sha256Hex(ReadOnlySpan<byte> payload) =>
        Convert.ToHexStringLower(SHA256.HashData(payload));

    private static OutboundMessage Build(string id, Action<Utf8JsonWriter> writeProperties)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }
        var payload = buffer.WrittenSpan.ToArray();
        return new OutboundMessage(id, payload, Sha256Hex(payload));
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null) writer.WriteNull(name);
        else writer.WriteString(name, value);
    }
}

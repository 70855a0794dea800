using System.Text.Json;

namespace Tether.Api.Integration;

/// <summary>Reads a request body as JSON whatever its Content-Type (API Gateway may send none, or text/plain).</summary>
internal static class JsonBody
{
    private static readonly JsonDocumentOptions Options = new()
    {
        MaxDepth = 64,
        // A duplicated field is ambiguous (which "room" did the client mean?): refuse it rather than guess.
        AllowDuplicateProperties = false,
    };

    public static async Task<(JsonDocument? Document, BodyError? Error)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes)
        {
            return (null, new BodyError(413, "payload_too_large", $"The request body is over {maxBytes} bytes."));
        }

        ReadOnlyMemory<byte> bytes;
        if (request.ContentLength is { } length)
        {
            // API Gateway always sends Content-Length (and Kestrel holds the body to it): read straight into an array of
            // that size, the request's one allocation for its body (docs/decisions/request-body-reading.md).
            var exact = new byte[length];
            var filled = 0;
            int read;
            while (filled < exact.Length && (read = await request.Body.ReadAsync(exact.AsMemory(filled), ct)) > 0) filled += read;
            bytes = exact.AsMemory(0, filled);
        }
        else
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[4 * 1024];
            int read;
            while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return (null, new BodyError(413, "payload_too_large", $"The request body is over {maxBytes} bytes."));
                }
                buffer.Write(chunk, 0, read);
            }
            bytes = buffer.ToArray();
        }

        if (bytes.Length == 0)
        {
            return (null, new BodyError(400, "invalid_json", "The request body is empty; a JSON object is expected."));
        }
        // The JSON parser checks structure, not the bytes inside strings: invalid UTF-8 there would only surface when
        // a string is read, as an exception. One vectorized pass up front turns it into a 400.
        if (!System.Text.Unicode.Utf8.IsValid(bytes.Span))
        {
            return (null, new BodyError(400, "invalid_json", "The request body is not valid UTF-8."));
        }
        try
        {
            var document = JsonDocument.Parse(bytes, Options);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                return (null, new BodyError(400, "invalid_json", "The request body must be a JSON object."));
            }
            return (document, null);
        }
        catch (JsonException e)
        {
            return (null, new BodyError(400, "invalid_json", $"The request body is not valid JSON: {Shorten(e.Message)}"));
        }
    }

    public static string? OptionalString(JsonElement root, string name, int maxLength, out BodyError? error)
    {
        error = null;
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String)
        {
            error = new BodyError(400, "invalid_field", $"\"{name}\" must be a string.");
            return null;
        }
        if (!TryGetText(value, out var text))
        {
            error = new BodyError(400, "invalid_field", $"\"{name}\" is not valid text (it has a broken surrogate pair).");
            return null;
        }
        if (text.Length > maxLength)
        {
            error = new BodyError(400, "invalid_field", $"\"{name}\" is longer than {maxLength} characters.");
            return null;
        }
        return text;
    }

    /// <summary>
    /// A JSON string as .NET text. An escaped lone surrogate (<c>"\ud800"</c>) is valid JSON but no valid UTF-16
    /// string, and <see cref="JsonElement.GetString"/> throws on it: hostile input must get a 400, not a 500.
    /// </summary>
    public static bool TryGetText(JsonElement element, out string text)
    {
        try
        {
            text = element.GetString() ?? "";
            return true;
        }
        catch (InvalidOperationException)
        {
            text = "";
            return false;
        }
    }

    private static string Shorten(string message) => message.Length > 200 ? message[..200] : message;
}

/// <summary>A refused request: HTTP status, snake_case code and a human message (the error reply of docs/protocol.md).</summary>
internal sealed record BodyError(int Status, string Code, string Message)
{
    /// <summary>The client's <c>requestId</c> when it was valid: an error reply echoes it too.</summary>
    public string? RequestId { get; init; }
}

using System.Text.Json;

namespace Tether.Api.Integration;

/// <summary>
/// <c>batch</c> at <c>/connect</c>: whether the connection takes several envelopes per post. A JSON boolean, or the
/// query parameter's text as a template passes it (<c>"1"</c>, <c>"true"</c>; <c>""</c> when the client did not ask).
/// </summary>
internal static class BatchFlag
{
    public static bool? Read(JsonElement root, out BodyError? error)
    {
        error = null;
        if (!root.TryGetProperty("batch", out var value)) return false;
        switch (value.ValueKind)
        {
            case JsonValueKind.True: return true;
            case JsonValueKind.False or JsonValueKind.Null: return false;
            case JsonValueKind.String:
                var text = value.GetString();
                if (text is "" or "0" || string.Equals(text, "false", StringComparison.OrdinalIgnoreCase)) return false;
                if (text is "1" || string.Equals(text, "true", StringComparison.OrdinalIgnoreCase)) return true;
                break;
        }
        error = new BodyError(400, "invalid_field", "\"batch\" must be true, false, \"1\", \"0\", \"true\", \"false\" or \"\".");
        return null;
    }
}

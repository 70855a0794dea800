using System.Security.Cryptography;
using System.Text;

namespace HooksApp;

/// <summary>
/// Refuses (401) any call whose <c>X-Tether-Signature</c> is not the HMAC-SHA256 of its body with one of the accepted
/// secrets; several are accepted so the secret can be rotated (docs/hooks.md). The verified body is kept for the handler.
/// </summary>
internal static class SignatureCheck
{
    public const string BodyItem = "hooks-app.body";

    public static IApplicationBuilder UseTetherSignatures(this IApplicationBuilder app, IReadOnlyList<string> secrets)
    {
        var keys = secrets.Where(s => !string.IsNullOrEmpty(s)).Select(Encoding.UTF8.GetBytes).ToList();
        if (keys.Count == 0) throw new InvalidOperationException("Set Hooks__Secrets__0 (the same secret Tether signs with).");
        return app.Use(async (context, next) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            var body = buffer.ToArray();
            if (!Verify(keys, body, context.Request.Headers["X-Tether-Signature"]))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
            context.Items[BodyItem] = body;
            await next(context);
        });
    }

    private static bool Verify(List<byte[]> keys, byte[] body, string? header)
    {
        if (header is null || !header.StartsWith("sha256=", StringComparison.Ordinal)) return false;
        var given = Encoding.ASCII.GetBytes(header);
        var matched = false;
        foreach (var key in keys)
        {
            var expected = Encoding.ASCII.GetBytes("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, body)));
            matched |= CryptographicOperations.FixedTimeEquals(expected, given);
        }
        return matched;
    }
}

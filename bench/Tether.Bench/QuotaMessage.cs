using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Tether.Bench;

/// <summary>
/// The quota phase's message: <c>{"t":SENT,"k":"KEY"}</c>, the send time (a <see cref="System.Diagnostics.Stopwatch"/>
/// timestamp, the same clock in every process of this machine) and a key unique per message. A post carries one such
/// body, or several in a batch; the pattern finds each either way.
/// </summary>
internal static partial class QuotaMessage
{
    public static string Body(long sentAt, string key) => $$"""{"t":{{sentAt.ToString(CultureInfo.InvariantCulture)}},"k":"{{key}}"}""";

    /// <summary>The envelope our backend would post for the message, so the bare poster moves the same bytes.</summary>
    public static string Envelope(string room, string from, long sentAt, string key) =>
        $$"""{"type":"message","room":"{{room}}","from":"{{from}}","user":null,"body":{{Body(sentAt, key)}},"id":"{{Guid.CreateVersion7()}}","sentAt":"{{DateTime.UtcNow:O}}"}""";

    public static IEnumerable<(long SentAt, string Key)> Read(byte[] post)
    {
        foreach (Match m in Pattern().Matches(Encoding.UTF8.GetString(post)))
        {
            yield return (long.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture), m.Groups[2].Value);
        }
    }

    [GeneratedRegex("""\{"t":(\d+),"k":"([^"]+)"\}""")]
    private static partial Regex Pattern();
}

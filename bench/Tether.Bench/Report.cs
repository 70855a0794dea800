using System.Globalization;
using System.Text;

namespace Tether.Bench;

/// <summary>Collects the figures of one run and prints them as one Markdown table (pasted into docs/performance.md).</summary>
internal sealed class Report(BenchSettings settings)
{
    private readonly List<(string Measure, string Value, string Note)> _rows = [];

    public bool Failed { get; private set; }

    public static void Line(string text) => Console.WriteLine($"[bench] {text}");

    public void Row(string measure, string value, string note = "")
    {
        _rows.Add((measure, value, note));
        Line($"{measure}: {value} {note}".TrimEnd());
    }

    public void Fail(string what)
    {
        Failed = true;
        Row("FAILED", what);
    }

    public static string Number(double value, string format = "N0") => value.ToString(format, CultureInfo.InvariantCulture);

    public void Print()
    {
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Tether fan-out benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC — {Environment.ProcessorCount} cores — {settings.Describe()}");
        text.AppendLine();
        text.AppendLine("| measure | value | note |");
        text.AppendLine("|---|---|---|");
        foreach (var (measure, value, note) in _rows) text.AppendLine(CultureInfo.InvariantCulture, $"| {measure} | {value} | {note} |");
        Console.WriteLine(text.ToString());
    }
}

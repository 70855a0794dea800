namespace Tether.Testing;

/// <summary>
/// Text files under <c>figures/</c> next to the test assembly: what a test measured or ran on, printed by
/// <c>.ci/run</c> after the runner's output (xunit shows a passing test's output to nobody).
/// </summary>
public static class Figures
{
    private static readonly Lock Gate = new();

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "figures");

    public static void Write(string name, string text)
    {
        lock (Gate)
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(Path.Combine(Directory, name + ".txt"), text);
        }
    }

    public static void Append(string name, string line)
    {
        lock (Gate)
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.AppendAllText(Path.Combine(Directory, name + ".txt"), line + Environment.NewLine);
        }
    }
}

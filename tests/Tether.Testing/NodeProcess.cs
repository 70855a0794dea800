using System.Collections.Concurrent;
using System.Diagnostics;

namespace Tether.Tests.Support;

/// <summary>
/// One of our hosts (<c>src/Silo</c>, <c>src/Api</c>) as a real child process, started from its build output with
/// environment-variable configuration, as an operator would run it. Keeps its last output lines for diagnostics.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private NodeProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => string.Join('\n', _output);

    /// <summary>Starts <c>src/{project}/bin/{configuration}/net10.0/{assembly}.dll</c> with <paramref name="environment"/>.</summary>
    public static NodeProcess Start(string name, string project, string assembly, IReadOnlyDictionary<string, string> environment)
    {
        var directory = Path.Combine(RepositoryRoot(), "src", project, "bin", BuildConfiguration(), "net10.0");
        var dll = Path.Combine(directory, assembly + ".dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing: build the solution first.");

        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return new NodeProcess(name, Process.Start(info) ?? throw new InvalidOperationException($"{name} did not start."));
    }

    /// <summary>
    /// <c>kill -9</c>: no shutdown code runs. Only the process itself (our hosts start no children): with
    /// <c>entireProcessTree</c>, .NET first scans every process for children and the signal lands hundreds of
    /// milliseconds later on a loaded machine, while the "killed" silo keeps serving.
    /// </summary>
    public void Kill() => _process.Kill();

    /// <summary><c>kill -TERM</c>, what container runtimes and systemd send first.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        _output.Enqueue(line);
        while (_output.Count > 300) _output.TryDequeue(out _);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Orleans.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The configuration the tests were built with (…/bin/Debug/net10.0/ → Debug): the hosts are built with it too.</summary>
    private static string BuildConfiguration() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
}

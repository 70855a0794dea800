using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Tether.Testing;

/// <summary>
/// A server as a real child process (our <c>src/Silo</c> and <c>src/Api</c> hosts, or any other program), configured
/// through environment variables as an operator would run it. Keeps its last output lines for diagnostics.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private const int KeptLines = 300;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Uri? _baseAddress;
    private int _disposed;

    private NodeProcess(string name, Process process, Uri? baseAddress)
    {
        Name = name;
        _baseAddress = baseAddress;
        _process = process;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    /// <summary>Where the process serves HTTP (given when it was started).</summary>
    public Uri BaseAddress => _baseAddress ?? throw new InvalidOperationException($"{Name} was started without a base address.");

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => string.Join('\n', _output);

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public static NodeProcess Start(
        string name, string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, Uri? baseAddress = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return new NodeProcess(name, Process.Start(info) ?? throw new InvalidOperationException($"{name} did not start."), baseAddress);
    }

    /// <summary>
    /// Starts <c>src/{project}/bin/{configuration}/net10.0/{assembly}.dll</c> in the Production environment (unless
    /// <paramref name="environment"/> names another), built with the tests' own configuration by default.
    /// </summary>
    public static NodeProcess StartHost(
        string name, string project, string assembly, IReadOnlyDictionary<string, string> environment,
        string? configuration = null, Uri? baseAddress = null)
    {
        var directory = Path.Combine(RepositoryRoot(), "src", project, "bin", configuration ?? BuildConfiguration(), "net10.0");
        var dll = Path.Combine(directory, assembly + ".dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing: build the solution first.");

        var hostEnvironment = environment.GetValueOrDefault("ASPNETCORE_ENVIRONMENT") ?? environment.GetValueOrDefault("DOTNET_ENVIRONMENT") ?? "Production";
        var all = new Dictionary<string, string>(environment)
        {
            ["DOTNET_ENVIRONMENT"] = hostEnvironment,
            ["ASPNETCORE_ENVIRONMENT"] = hostEnvironment,
        };
        return Start(name, "dotnet", [dll], directory, all, baseAddress);
    }

    /// <summary>
    /// Waits until <c>GET {BaseAddress}{path}</c> answers below 500; disposes the process and throws, with its last
    /// output, if it exits or the time runs out first.
    /// </summary>
    public async Task<NodeProcess> ReadyAsync(string path, TimeSpan timeout)
    {
        var url = new Uri(BaseAddress, path);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                var exited = new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it was ready:\n{Output}");
                await DisposeAsync();
                throw exited;
            }
            try
            {
                using var response = await http.GetAsync(url);
                if ((int)response.StatusCode < 500) return this;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        var late = new TimeoutException($"{Name} was not ready after {timeout.TotalSeconds:0} s:\n{Output}");
        await DisposeAsync();
        throw late;
    }

    /// <summary>Resident set size in bytes, from <c>/proc/{pid}/status</c>.</summary>
    public long ResidentBytes() => StatusBytes("VmRSS:");

    /// <summary>The peak resident set size since the process started ("high water mark"), in bytes.</summary>
    public long PeakResidentBytes() => StatusBytes("VmHWM:");

    private long StatusBytes(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var kb = line[field.Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException(field + " not found");
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
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
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
        while (_output.Count > KeptLines) _output.TryDequeue(out _);
    }

    /// <summary>The directory holding <c>Orleans.sln</c>, above the running assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Orleans.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The configuration the running assembly was built with (…/bin/Debug/net10.0/ → Debug): the hosts are built with it too.</summary>
    private static string BuildConfiguration() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
}

using System.Diagnostics;
using System.Globalization;

namespace Tether.Bench;

/// <summary>A server under test, started as its own process (our API, or the seed's Node.js backend).</summary>
internal sealed class BackendProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private BackendProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Id => _process.Id;

    public static async Task<BackendProcess> StartAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, IDictionary<string, string> environment,
        Uri baseAddress, string readinessPath, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) start.Environment[key] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var backend = new BackendProcess(process, baseAddress);
        process.OutputDataReceived += (_, e) => backend.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => backend.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{fileName} exited with {process.ExitCode} before it was ready:\n{backend.Output}");
            }
            try
            {
                using var response = await http.GetAsync(new Uri(baseAddress, readinessPath));
                if ((int)response.StatusCode < 500) return backend;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        await backend.DisposeAsync();
        throw new TimeoutException($"{fileName} was not ready after {timeout.TotalSeconds:0} s:\n{backend.Output}");
    }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>Resident set size in bytes, from <c>/proc/{pid}/status</c>.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("VmRSS not found");
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            // Keep the tail only: enough to explain a failure, bounded for long runs.
            if (_output.Length > 64 * 1024) _output.Remove(0, _output.Length - 32 * 1024);
            _output.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;
using Amazon.Runtime;

namespace Tether.Bench;

/// <summary>CPU time a process has used so far (user + system), from <c>/proc/{pid}/stat</c>.</summary>
internal static class ProcessCpu
{
    public static double Seconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name, which is in parentheses and may contain spaces.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }
}

/// <summary>
/// The bare client runs in its own process, as our backend does: a client inside the sink's process would share
/// its thread pool and skip the cross-process scheduling any real backend pays, and look faster than the bare limit is.
/// The parent sends one line per run on standard input (<c>ids-file TAB payload-file</c>); the worker answers
/// <c>ok SECONDS</c> or <c>error MESSAGE</c>. One worker serves the whole benchmark, so its connections stay warm.
/// </summary>
internal sealed class BareWorker : IAsyncDisposable
{
    public const string Mode = "--bare-worker";

    private readonly Process _process;
    private readonly SemaphoreSlim _oneAtATime = new(1);
    private readonly string _directory = Directory.CreateTempSubdirectory("tether-bench-bare-").FullName;

    private BareWorker(Process process) => _process = process;

    public int Id => _process.Id;

    public static BareWorker Start(Uri connectionUrl, int concurrency, AWSCredentials credentials)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Started with the same host and assembly as this process.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(BareWorker).Assembly.Location);
        start.ArgumentList.Add(Mode);
        start.ArgumentList.Add(connectionUrl.ToString());
        start.ArgumentList.Add(concurrency.ToString(CultureInfo.InvariantCulture));
        var keys = credentials.GetCredentials();
        start.Environment["AWS_ACCESS_KEY_ID"] = keys.AccessKey;
        start.Environment["AWS_SECRET_ACCESS_KEY"] = keys.SecretKey;
        return new BareWorker(Process.Start(start) ?? throw new InvalidOperationException("could not start the bare client"));
    }

    public async Task<TimeSpan> PostAllAsync(IReadOnlyList<string> connectionIds, byte[] payload)
    {
        await _oneAtATime.WaitAsync();
        try
        {
            var ids = Path.Combine(_directory, "ids.txt");
            var body = Path.Combine(_directory, "payload.json");
            await File.WriteAllLinesAsync(ids, connectionIds);
            await File.WriteAllBytesAsync(body, payload);
            await _process.StandardInput.WriteLineAsync($"{ids}\t{body}");
            await _process.StandardInput.FlushAsync();
            var answer = await _process.StandardOutput.ReadLineAsync()
                ?? throw new InvalidOperationException("the bare client exited");
            if (!answer.StartsWith("ok ", StringComparison.Ordinal)) throw new InvalidOperationException("bare client: " + answer);
            return TimeSpan.FromSeconds(double.Parse(answer[3..], CultureInfo.InvariantCulture));
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>
    /// The quota phase's bare poster (<see cref="BarePacer"/>) in the worker: rooms of <paramref name="roomSize"/> taken
    /// in order from <paramref name="connectionIds"/>, every member sending <paramref name="ratePerMember"/> messages/s
    /// for <paramref name="seconds"/>; completes when every post is made or given up.
    /// </summary>
    public async Task<BarePacer.Outcome> PacedAsync(IReadOnlyList<string> connectionIds, int roomSize, double ratePerMember, double seconds)
    {
        await _oneAtATime.WaitAsync();
        try
        {
            var ids = Path.Combine(_directory, "ids.txt");
            await File.WriteAllLinesAsync(ids, connectionIds);
            await _process.StandardInput.WriteLineAsync(string.Join('\t', PacedLine, ids, roomSize.ToString(CultureInfo.InvariantCulture),
                ratePerMember.ToString("R", CultureInfo.InvariantCulture), seconds.ToString("R", CultureInfo.InvariantCulture)));
            await _process.StandardInput.FlushAsync();
            var answer = await _process.StandardOutput.ReadLineAsync()
                ?? throw new InvalidOperationException("the bare client exited");
            if (!answer.StartsWith("ok ", StringComparison.Ordinal)) throw new InvalidOperationException("bare poster: " + answer);
            return BarePacer.Outcome.Parse(answer[3..]);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private const string PacedLine = "paced";

    /// <summary>The worker's side: <c>Tether.Bench.dll --bare-worker URL CONCURRENCY</c>.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var connectionUrl = new Uri(args[1]);
        var concurrency = int.Parse(args[2], CultureInfo.InvariantCulture);
        var credentials = new BasicAWSCredentials(
            Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY"));
        while (await Console.In.ReadLineAsync() is { } line)
        {
            try
            {
                var parts = line.Split('\t');
                if (parts[0] == PacedLine)
                {
                    var outcome = await BarePacer.RunAsync(connectionUrl, await File.ReadAllLinesAsync(parts[1]),
                        int.Parse(parts[2], CultureInfo.InvariantCulture), double.Parse(parts[3], CultureInfo.InvariantCulture),
                        double.Parse(parts[4], CultureInfo.InvariantCulture), concurrency, credentials);
                    Console.WriteLine("ok " + outcome.Format());
                    continue;
                }
                var ids = await File.ReadAllLinesAsync(parts[0]);
                var payload = await File.ReadAllBytesAsync(parts[1]);
                var elapsed = await BareClient.PostAllAsync(connectionUrl, ids, payload, concurrency, credentials);
                Console.WriteLine("ok " + elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
            }
            catch (Exception e)
            {
                Console.WriteLine("error " + e.Message.ReplaceLineEndings(" "));
            }
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(10))) _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _oneAtATime.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

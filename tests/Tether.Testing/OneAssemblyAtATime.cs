using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Tether.Testing;

/// <summary>
/// xunit's framework, but only one of this checkout's test assemblies runs its tests at a time. <c>dotnet test
/// Orleans.sln</c> starts every test project at once; the cluster and system tests time silos, sweeps and processes
/// against the machine's cores, and on two cores three assemblies side by side starve each other.
/// </summary>
public sealed class OneAssemblyAtATime(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    // Held until the test process exits; the operating system releases it then, however the process ends.
    private static readonly Lazy<FileStream> Turn = new(WaitForTurn);

    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName)
    {
        _ = Turn.Value;
        return base.CreateExecutor(assemblyName);
    }

    private static FileStream WaitForTurn()
    {
        var checkout = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(NodeProcess.RepositoryRoot())))[..16];
        var path = Path.Combine(Path.GetTempPath(), $"tether-tests-{checkout}.lock");
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                Thread.Sleep(200);
            }
        }
    }
}

using System.Reflection;
using System.Xml.Linq;

namespace Tether.Tests.Architecture;

/// <summary>The projects depend one way: Contracts ← Grains ← Delivery, Hooks ← Hosting ← Api, Silo.</summary>
public sealed class DependencyDirectionTests
{
    private static readonly Assembly Contracts = typeof(IConnectionGrain).Assembly;
    private static readonly Assembly Grains = typeof(ConnectionGrain).Assembly;
    private static readonly Assembly Delivery = typeof(DeliveryDispatcher).Assembly;
    private static readonly Assembly Hosting = typeof(TetherOperations).Assembly;

    [Fact]
    public void Contracts_reference_nothing_of_ours_and_no_framework_beyond_orleans()
    {
        var referenced = Names(Contracts);
        Assert.DoesNotContain(referenced, n => n.StartsWith("Tether.", StringComparison.Ordinal));
        AssertNoInfrastructure(referenced);
    }

    [Fact]
    public void Grains_reference_contracts_only_and_no_infrastructure()
    {
        var referenced = Names(Grains);
        Assert.Equal(["Tether.Contracts"], referenced.Where(n => n.StartsWith("Tether.", StringComparison.Ordinal)));
        AssertNoInfrastructure(referenced);
    }

    [Fact]
    public void Delivery_references_no_host_framework()
    {
        var referenced = Names(Delivery);
        Assert.DoesNotContain("Tether.Hosting", referenced);
        Assert.DoesNotContain(referenced, n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
            || n.StartsWith("OpenTelemetry", StringComparison.Ordinal) || n.StartsWith("Orleans.Dashboard", StringComparison.Ordinal));
    }

    [Fact]
    public void Hooks_reference_the_grains_ports_and_no_host_framework()
    {
        var referenced = Names(typeof(Tether.Hooks.HooksOptions).Assembly);
        Assert.Equal(["Tether.Contracts", "Tether.Grains"], referenced.Where(n => n.StartsWith("Tether.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(referenced, n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
            || n.StartsWith("OpenTelemetry", StringComparison.Ordinal) || n.StartsWith("AWSSDK", StringComparison.Ordinal));
    }

    [Fact]
    public void Hosting_does_not_know_the_hosts()
    {
        var referenced = Names(Hosting);
        Assert.DoesNotContain(referenced, n => n is "Tether.Api" or "Tether.Silo" or "Tether.LocalGateway");
    }

    [Theory]
    [InlineData("src/Contracts/Tether.Contracts.csproj", new string[0])]
    [InlineData("src/Grains/Tether.Grains.csproj", new[] { "Contracts" })]
    [InlineData("src/Delivery/Tether.Delivery.csproj", new[] { "Grains" })]
    [InlineData("src/Hooks/Tether.Hooks.csproj", new[] { "Grains" })]
    [InlineData("src/Hosting/Tether.Hosting.csproj", new[] { "Delivery", "Hooks" })]
    [InlineData("src/LocalGateway/Tether.LocalGateway.csproj", new string[0])]
    [InlineData("src/LocalGateway.Host/Tether.LocalGateway.Host.csproj", new[] { "LocalGateway", "Contracts" })]
    public void Each_project_references_only_the_layer_below(string project, string[] expected)
    {
        var references = XDocument.Load(Path.Combine(RepositoryRoot(), project))
            .Descendants("ProjectReference")
            .Select(r => Path.GetFileName(Path.GetDirectoryName(r.Attribute("Include")!.Value.Replace('\\', '/')))!)
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected.Order(StringComparer.Ordinal), references);
    }

    [Fact]
    public void The_grains_project_references_neither_aspnetcore_nor_opentelemetry_nor_the_dashboard()
    {
        var project = XDocument.Load(Path.Combine(RepositoryRoot(), "src/Grains/Tether.Grains.csproj"));
        Assert.Empty(project.Descendants("FrameworkReference"));
        var packages = project.Descendants("PackageReference").Select(p => p.Attribute("Include")!.Value).ToList();
        Assert.DoesNotContain(packages, p => p.StartsWith("OpenTelemetry", StringComparison.Ordinal) || p.Contains("Dashboard", StringComparison.Ordinal)
            || p.StartsWith("AWSSDK", StringComparison.Ordinal) || p.StartsWith("Polly", StringComparison.Ordinal) || p.Contains("Redis", StringComparison.Ordinal));
    }

    private static void AssertNoInfrastructure(IReadOnlyList<string> referenced) =>
        Assert.DoesNotContain(referenced, n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
            || n.StartsWith("OpenTelemetry", StringComparison.Ordinal) || n.StartsWith("Orleans.Dashboard", StringComparison.Ordinal)
            || n.StartsWith("StackExchange.Redis", StringComparison.Ordinal) || n.StartsWith("AWSSDK", StringComparison.Ordinal)
            || n.StartsWith("Polly", StringComparison.Ordinal));

    private static List<string> Names(Assembly assembly) => [.. assembly.GetReferencedAssemblies().Select(a => a.Name!)];

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Orleans.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Orleans.sln not found above " + AppContext.BaseDirectory);
    }
}

// xunit finds collection definitions only in the test assembly; their fixtures live in Tether.Testing.

namespace Tether.Tests.Grains
{
    [CollectionDefinition(Name)]
    public sealed class ClusterTests : ICollectionFixture<ClusterFixture>
    {
        public const string Name = "cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class StorageOutageClusterTests : ICollectionFixture<StorageOutageClusterFixture>
    {
        public const string Name = "storage-outage-cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class OutageClusterTests : ICollectionFixture<OutageClusterFixture>
    {
        public const string Name = "outage cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class GraceClusterTests : ICollectionFixture<GraceClusterFixture>
    {
        public const string Name = "grace-cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class SweepClusterTests : ICollectionFixture<SweepClusterFixture>
    {
        public const string Name = "sweep-cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class ThreeSiloClusterTests : ICollectionFixture<ThreeSiloClusterFixture>
    {
        public const string Name = "three-silo-cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class SweepIndexClusterTests : ICollectionFixture<SweepIndexClusterFixture>
    {
        public const string Name = "sweep-index-cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class BudgetClusterTests : ICollectionFixture<BudgetClusterFixture>
    {
        public const string Name = "budget-cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class HandOverClusterTests : ICollectionFixture<HandOverClusterFixture>
    {
        public const string Name = "hand-over-cluster";
    }

    [CollectionDefinition(Name)]
    public sealed class AbuseClusterTests : ICollectionFixture<AbuseClusterFixture>
    {
        public const string Name = "abuse-cluster";
    }
}

namespace Tether.Tests.Api
{
    [CollectionDefinition(Name)]
    public sealed class ApiTests : ICollectionFixture<ApiFixture>
    {
        public const string Name = "api";
    }
}

namespace Tether.Tests.Security
{
    [CollectionDefinition(Name)]
    public sealed class SecurityTests : ICollectionFixture<SecurityFixture>
    {
        public const string Name = "security";
    }
}

namespace Tether.Tests.Hooks
{
    [CollectionDefinition(Name)]
    public sealed class HooksClusterTests : ICollectionFixture<HooksClusterFixture>
    {
        public const string Name = "hooks-cluster";
    }
}

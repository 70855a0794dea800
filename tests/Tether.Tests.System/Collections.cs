// xunit finds collection definitions only in the test assembly; their fixtures live in Tether.Testing.

namespace Tether.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class EndToEndTests : ICollectionFixture<EndToEndFixture>
{
    public const string Name = "end-to-end";
}

[CollectionDefinition(Name)]
public sealed class HooksTests : ICollectionFixture<HooksFixture>
{
    public const string Name = "hooks";
}

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Storage;
using Xunit.Abstractions;

namespace Tether.Tests.Cluster;

/// <summary>
/// Orleans' Redis providers as our silos configure them, each asked directly on one silo: their Lua scripts and
/// conditional writes must behave on whichever server the tests run (redis-server, or Garnet where there is none).
/// </summary>
[Trait("Category", "Redis")]
public sealed class RedisProviderTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private IHost _silo = null!;

    private IServiceProvider Services => _silo.Services;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(reportAs: nameof(RedisProviderTests));
        output.WriteLine(_redis.Description);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("providers", "providers-" + Guid.NewGuid().ToString("N")[..8]));
            silo.ConfigureEndpoints(IPAddress.Loopback, FreePort.Next(), FreePort.Next());
            silo.UseTetherRedisProviders(_redis.ConnectionString);
        });
        _silo = builder.Build();
        await _silo.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _silo.StopAsync();
        _silo.Dispose();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Membership_lists_the_running_silo_refreshes_its_heartbeat_and_refuses_a_stale_table_version()
    {
        var table = Services.GetRequiredService<IMembershipTable>();
        var self = Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

        var before = await table.ReadAllAsync(CancellationToken.None);
        var (entry, etag) = before.Members.Single(m => m.Item1.SiloAddress.Equals(self));
        var heartbeat = entry.IAmAliveTime.AddMinutes(1);
        entry.IAmAliveTime = heartbeat;
        await table.UpdateIAmAliveAsync(entry, CancellationToken.None);
        var after = await table.ReadAllAsync(CancellationToken.None);
        var stranger = new MembershipEntry
        {
            SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, FreePort.Next()), 1),
            Status = SiloStatus.Joining,
            SiloName = "stranger",
            HostName = "localhost",
            StartTime = DateTime.UtcNow,
            IAmAliveTime = DateTime.UtcNow,
        };
        var staleInsert = await table.InsertRowAsync(stranger, before.Version, CancellationToken.None);

        Assert.Equal(SiloStatus.Active, entry.Status);
        Assert.False(string.IsNullOrEmpty(etag));
        Assert.Equal(heartbeat, after.Members.Single(m => m.Item1.SiloAddress.Equals(self)).Item1.IAmAliveTime, TimeSpan.FromMilliseconds(1));
        Assert.False(staleInsert, "an insert against a table version that is no longer current must be refused");
        Assert.DoesNotContain((await table.ReadAllAsync(CancellationToken.None)).Members, m => m.Item1.SiloName == "stranger");
    }

    [Fact]
    public async Task Grain_storage_writes_reads_refuses_a_stale_etag_and_deletes_on_clear()
    {
        var storage = Services.GetRequiredKeyedService<IGrainStorage>(TetherStorage.Name);
        var grain = GrainId.Create("test", Guid.NewGuid().ToString("N"));
        const string type = "state";

        var state = new ProbeState { Text = "one" };
        var first = new GrainState<ProbeState>(state);
        await storage.WriteStateAsync(type, grain, first);
        var stale = new GrainState<ProbeState>(new ProbeState { Text = "stale" }) { ETag = first.ETag };
        state.Text = "two";
        await storage.WriteStateAsync(type, grain, first);
        var refused = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(type, grain, stale));
        var read = new GrainState<ProbeState>();
        await storage.ReadStateAsync(type, grain, read);
        var (readText, existed) = (read.State?.Text, read.RecordExists);
        await storage.ClearStateAsync(type, grain, read);
        var cleared = new GrainState<ProbeState>();
        await storage.ReadStateAsync(type, grain, cleared);

        Assert.NotNull(refused);
        Assert.Equal(("two", true), (readText, existed));
        Assert.False(cleared.RecordExists);
    }

    /// <summary>The stateless <c>/connect</c> (ConnectorGrain) relies on it: its first write of a connection's record carries no ETag.</summary>
    [Fact]
    public async Task Grain_storage_refuses_a_write_without_an_etag_over_a_stored_record_and_accepts_it_once_deleted()
    {
        var storage = Services.GetRequiredKeyedService<IGrainStorage>(TetherStorage.Name);
        var grain = GrainId.Create("test", Guid.NewGuid().ToString("N"));
        const string type = "state";

        var stored = new GrainState<ProbeState>(new ProbeState { Text = "first" });
        await storage.WriteStateAsync(type, grain, stored);
        var second = new GrainState<ProbeState>(new ProbeState { Text = "second" });
        var refused = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(type, grain, second));
        var read = new GrainState<ProbeState>();
        await storage.ReadStateAsync(type, grain, read);
        var kept = read.State?.Text;
        await storage.ClearStateAsync(type, grain, read);
        await storage.WriteStateAsync(type, grain, new GrainState<ProbeState>(new ProbeState { Text = "after" }));
        var after = new GrainState<ProbeState>();
        await storage.ReadStateAsync(type, grain, after);

        Assert.NotNull(refused);
        Assert.Equal("first", kept);
        Assert.Equal("after", after.State?.Text);
    }

    [Fact]
    public async Task Reminders_are_kept_listed_and_removed_only_with_their_current_etag()
    {
        var table = Services.GetRequiredService<IReminderTable>();
        var grain = GrainId.Create("test", Guid.NewGuid().ToString("N"));
        var entry = new ReminderEntry
        {
            GrainId = grain,
            ReminderName = "sweep",
            StartAt = DateTime.UtcNow,
            Period = TimeSpan.FromMinutes(1),
        };

        var etag = await table.UpsertRow(entry);
        Assert.NotNull(etag);
        var read = await table.ReadRow(grain, "sweep");
        var listed = await table.ReadRows(grain);
        var removedWithWrongEtag = await table.RemoveRow(grain, "sweep", "not-the-etag");
        var removed = await table.RemoveRow(grain, "sweep", etag);
        var gone = await table.ReadRow(grain, "sweep");

        Assert.NotNull(read);
        Assert.Equal((grain, "sweep", TimeSpan.FromMinutes(1), etag), (read.GrainId, read.ReminderName, read.Period, read.ETag));
        Assert.Single(listed.Reminders);
        Assert.False(removedWithWrongEtag);
        Assert.True(removed);
        Assert.Null(gone);
    }
}

[GenerateSerializer]
public sealed class ProbeState
{
    [Id(0)]
    public string Text { get; set; } = "";
}

using Tether.Contracts;
using Tether.LocalGateway;

namespace Tether.Tests.Grains;

/// <summary>
/// <c>/connect</c> stores the connection's record and registers it without activating the connection's grain
/// (<see cref="IConnectorGrain"/>, issue 17 point 2); a grain activation that exists meanwhile sees the record.
/// </summary>
[Collection(ClusterTests.Name)]
public sealed class StatelessConnectTests(ClusterFixture fixture)
{
    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private static string NewRoom() => "stateless-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_connect_registers_everywhere_and_activates_no_connection_grain()
    {
        var room = NewRoom();
        var user = "user-" + Guid.NewGuid().ToString("N")[..6];
        var ids = Enumerable.Range(0, 20).Select(_ => NewId()).ToList();
        foreach (var id in ids) fixture.Connections.Add(id);

        var results = await Task.WhenAll(ids.Select(id => fixture.Grains.Connector().Connect(id, new ConnectRequest(user, [room], DateTimeOffset.UtcNow, null, null, null))));

        // Counted before anything else calls the connections' grains.
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        var activated = (await management.GetDetailedGrainStatistics())
            .Where(a => a.GrainId.Type.ToString() == TetherGrainTypes.Connection && ids.Contains(a.GrainId.Key.ToString()!))
            .Select(a => a.GrainId.ToString()).ToList();
        Assert.Empty(activated);
        Assert.All(results, r => Assert.False(r.AlreadyConnected));
        Assert.All(results, r => Assert.Equal(["lobby", room], r.Rooms));
        Assert.Equal(ids.Count, await fixture.Grains.Room(room).Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), (await fixture.Grains.User(user).GetConnections()).Order(StringComparer.Ordinal));
        foreach (var id in ids) Assert.True(await fixture.Grains.Room("lobby").IsMember(id));
        // The record is the grain's state: its first activation reads it.
        Assert.Equal(new[] { "lobby", room }.Order(StringComparer.Ordinal), (await fixture.Grains.Connection(ids[0]).GetSnapshot())!.Rooms);
    }

    [Fact]
    public async Task A_grain_active_before_the_connect_serves_the_stored_connection()
    {
        var room = NewRoom();
        var id = NewId();
        fixture.Connections.Add(id);
        var grain = fixture.Grains.Connection(id);
        // Activated, and sure that it is not connected, before /connect stores the record.
        Assert.Null(await grain.GetSnapshot());
        Assert.Equal(404, (await grain.Handle(new Ping())).Status);

        await fixture.Grains.Connector().Connect(id, new ConnectRequest(null, [room], DateTimeOffset.UtcNow, null, null, null));

        Assert.IsType<Pong>(await grain.Handle(new Ping()));
        var joined = NewRoom();
        Assert.Equal(200, (await grain.Handle(new JoinRoom(joined))).Status);
        Assert.Equal(new[] { joined, "lobby", room }.Order(StringComparer.Ordinal), (await grain.GetSnapshot())!.Rooms);
        var sent = Assert.IsType<Sent>(await grain.Handle(new SendToRoom(room, "\"from the old activation\"", true)));
        Assert.Equal(1, sent.Recipients);
        await fixture.DrainAsync();
        Assert.Contains(fixture.Connections.Received(id), m => m.Contains("from the old activation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_retried_connect_answers_already_connected_and_registers_nothing_again()
    {
        var room = NewRoom();
        var id = NewId();
        fixture.Connections.Add(id);
        var request = new ConnectRequest("bea", [room], DateTimeOffset.UtcNow, null, null, null);

        var first = await fixture.Grains.Connector().Connect(id, request);
        var retried = await fixture.Grains.Connector().Connect(id, request with { Rooms = [room, NewRoom()] });

        Assert.False(first.AlreadyConnected);
        Assert.True(retried.AlreadyConnected);
        Assert.Equal(new[] { "lobby", room }.Order(StringComparer.Ordinal), retried.Rooms.Order(StringComparer.Ordinal));
        Assert.Equal(1, await fixture.Grains.Room(room).Count());
        Assert.Equal(new[] { "lobby", room }.Order(StringComparer.Ordinal), (await fixture.Grains.Connection(id).GetSnapshot())!.Rooms);
    }
}

/// <summary>A stateless <c>/connect</c> that finishes after its caller's deadline, with storage held to make it late.</summary>
[Collection(StorageOutageClusterTests.Name)]
public sealed class LateStatelessConnectTests(StorageOutageClusterFixture fixture) : IDisposable
{
    // Long enough for the call to reach the connector on a loaded machine; the test waits for it to pass.
    private static readonly TimeSpan LeftBeforeDeadline = TimeSpan.FromSeconds(4);

    public void Dispose() => fixture.Storage.Heal();

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    /// <summary>Starts a connect whose user write is held until its deadline has passed; returns it and when the deadline passes.</summary>
    private (Task<ConnectResult> Connect, DateTimeOffset Deadline, OutageStorage.HeldWrites Held) StartLateConnect(string id, ConnectRequest request)
    {
        var held = fixture.Storage.HoldWrites("user");
        var deadline = DateTimeOffset.UtcNow + LeftBeforeDeadline;
        using (CallDeadline.Begin(TimeProvider.System, LeftBeforeDeadline + CallDeadline.Margin))
        {
            return (fixture.Grains.Connector().Connect(id, request), deadline, held);
        }
    }

    private static async Task PassAsync(DateTimeOffset deadline)
    {
        // The deadline is a time: waiting for it is the behaviour under test, not a synchronization.
        var left = deadline - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100);
        if (left > TimeSpan.Zero) await Task.Delay(left);
    }

    [Fact]
    public async Task A_connect_that_finishes_after_the_deadline_is_undone()
    {
        var id = NewId();
        var room = "late-" + Guid.NewGuid().ToString("N")[..6];
        var user = "late-" + Guid.NewGuid().ToString("N")[..6];
        fixture.Connections.Add(id, EmulatedConnectionState.Open);
        var (connect, deadline, held) = StartLateConnect(id, new ConnectRequest(user, [room], DateTimeOffset.UtcNow, null, null, null));

        await held.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await PassAsync(deadline);
        held.Release();

        await Assert.ThrowsAsync<TimeoutException>(() => connect);
        Assert.Null(await fixture.Grains.Connection(id).GetSnapshot());
        Assert.False(await fixture.Grains.Room(room).IsMember(id));
        Assert.False(await fixture.Grains.Room("lobby").IsMember(id));
        Assert.Empty(await fixture.Grains.User(user).GetConnections());
    }

    [Fact]
    public async Task A_late_connect_undoes_only_its_own_registration_not_a_retry_answered_meanwhile()
    {
        var id = NewId();
        var room = "retry-" + Guid.NewGuid().ToString("N")[..6];
        var user = "retry-" + Guid.NewGuid().ToString("N")[..6];
        fixture.Connections.Add(id, EmulatedConnectionState.Open);
        var request = new ConnectRequest(user, [room], DateTimeOffset.UtcNow, null, null, null);
        var (late, deadline, held) = StartLateConnect(id, request);
        await held.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        // The caller gave up on the first and tried again: the record is stored, so the retry is answered at once.
        var retried = await fixture.Grains.Connector().Connect(id, request);
        await PassAsync(deadline);
        held.Release();

        Assert.True(retried.AlreadyConnected);
        await Assert.ThrowsAsync<TimeoutException>(() => late);
        // The retry's caller was told "connected": it stays registered everywhere.
        Assert.NotNull(await fixture.Grains.Connection(id).GetSnapshot());
        Assert.True(await fixture.Grains.Room(room).IsMember(id));
        Assert.True(await fixture.Grains.Room("lobby").IsMember(id));
        Assert.Contains(id, await fixture.Grains.User(user).GetConnections());
    }
}

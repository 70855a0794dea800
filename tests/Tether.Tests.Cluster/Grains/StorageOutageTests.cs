using Tether.Contracts;
using Tether.LocalGateway;

namespace Tether.Tests.Grains;

/// <summary>
/// Membership changes are all or nothing from the caller's view when storage fails (issue 18 point 2): a caller told
/// "failed" finds nothing changed, and a connection's rooms and user always end up agreeing with its record.
/// </summary>
[Collection(StorageOutageClusterTests.Name)]
public sealed class StorageOutageTests(StorageOutageClusterFixture fixture) : IDisposable
{
    private static readonly TimeSpan RepairTimeout = TimeSpan.FromSeconds(20);

    public void Dispose() => fixture.Storage.Heal();

    private static string NewId() => Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";

    private static string NewRoom() => "outage-" + Guid.NewGuid().ToString("N")[..6];

    private IConnectionGrain Connection(string id) => fixture.Grains.GetGrain<IConnectionGrain>(id);

    private IRoomGrain Room(string room) => fixture.Grains.GetGrain<IRoomGrain>(room);

    private async Task<string> ConnectAsync(string? user, params string[] rooms)
    {
        var id = NewId();
        fixture.Connections.Add(id, EmulatedConnectionState.Open);
        await fixture.Grains.Connector().Connect(id, new ConnectRequest(user, rooms, DateTimeOffset.UtcNow, null, null, null));
        return id;
    }

    private async Task<string[]> RoomsOf(string id) => (await Connection(id).GetSnapshot())?.Rooms.ToArray() ?? [];

    /// <summary>Every room the record lists lists the connection, and of <paramref name="others"/> none lists it that the record does not.</summary>
    private async Task AgreeAsync(string id, params string[] others)
    {
        var listed = await RoomsOf(id);
        foreach (var room in listed.Concat(others).Distinct())
        {
            Assert.True(await Room(room).IsMember(id) == listed.Contains(room), $"room {room}: record lists it {listed.Contains(room)}, the room disagrees");
        }
    }

    [Fact]
    public async Task A_join_whose_write_fails_changes_nothing()
    {
        var (home, other) = (NewRoom(), NewRoom());
        var id = await ConnectAsync(null, home);
        fixture.Storage.Fail("connection");

        await Assert.ThrowsAnyAsync<Exception>(() => Connection(id).Handle(new JoinRoom(other)));

        fixture.Storage.Heal();
        Assert.DoesNotContain(other, await RoomsOf(id));
        await AgreeAsync(id, other);
    }

    [Fact]
    public async Task A_join_whose_answer_was_lost_is_taken_back_and_the_next_change_is_no_version_conflict()
    {
        var (home, lost, next) = (NewRoom(), NewRoom(), NewRoom());
        var id = await ConnectAsync(null, home);
        fixture.Storage.Fail("connection", OutageStorage.OutageKind.AnswersLost);

        await Assert.ThrowsAnyAsync<Exception>(() => Connection(id).Handle(new JoinRoom(lost)));

        fixture.Storage.Heal();
        Assert.IsType<Joined>(await Connection(id).Handle(new JoinRoom(next)));
        await Eventually.HoldsAsync(async () =>
        {
            Assert.Equal(new[] { "lobby", home, next }.Order(), (await RoomsOf(id)).Order());
            await AgreeAsync(id, lost);
        }, RepairTimeout, "the lost join taken back");
    }

    [Fact]
    public async Task A_leave_whose_write_fails_leaves_the_connection_in_the_room()
    {
        var (home, other) = (NewRoom(), NewRoom());
        var id = await ConnectAsync(null, home, other);
        fixture.Storage.Fail("connection");

        await Assert.ThrowsAnyAsync<Exception>(() => Connection(id).Handle(new LeaveRoom(other)));

        fixture.Storage.Heal();
        await Eventually.HoldsAsync(async () =>
        {
            Assert.Contains(other, await RoomsOf(id));
            await AgreeAsync(id);
        }, RepairTimeout, "the room lists the connection again");
    }

    [Fact]
    public async Task A_disconnect_whose_write_fails_is_finished_once_storage_answers()
    {
        var (home, other) = (NewRoom(), NewRoom());
        var user = "user-" + Guid.NewGuid().ToString("N")[..6];
        var id = await ConnectAsync(user, home, other);
        // Active when the outage begins (an activation cannot even start without storage: the API retries those).
        Assert.IsType<Pong>(await Connection(id).Handle(new Ping()));
        fixture.Storage.Fail("connection");

        await Assert.ThrowsAnyAsync<Exception>(() => Connection(id).Disconnect("client closed"));

        fixture.Storage.Heal();
        await Eventually.HoldsAsync(async () =>
        {
            Assert.Null(await Connection(id).GetSnapshot());
            Assert.False(await Room(home).IsMember(id));
            Assert.False(await Room(other).IsMember(id));
            Assert.DoesNotContain(id, await fixture.Grains.GetGrain<IUserGrain>(user).GetConnections());
        }, RepairTimeout, "no ghost left by the failed disconnect");
    }

    [Fact]
    public async Task A_connect_that_fails_half_way_is_taken_back()
    {
        var home = NewRoom();
        var user = "user-" + Guid.NewGuid().ToString("N")[..6];
        var id = NewId();
        fixture.Connections.Add(id, EmulatedConnectionState.Open);
        fixture.Storage.Fail("user");

        await Assert.ThrowsAnyAsync<Exception>(() => fixture.Grains.Connector().Connect(id, new ConnectRequest(user, [home], DateTimeOffset.UtcNow, null, null, null)));

        fixture.Storage.Heal();
        await Eventually.HoldsAsync(async () =>
        {
            Assert.Null(await Connection(id).GetSnapshot());
            Assert.False(await Room(home).IsMember(id));
            Assert.Empty(await fixture.Grains.GetGrain<IUserGrain>(user).GetConnections());
        }, RepairTimeout, "the refused connection registered nowhere");
    }
}

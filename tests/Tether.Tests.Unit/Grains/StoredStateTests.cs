using Orleans.Runtime;
using Orleans.Storage;
using Tether.Contracts;
using Tether.Grains;

namespace Tether.Tests.Grains;

/// <summary>
/// A version conflict means storage moved on: either a write whose answer was lost did land, or another activation of
/// the same grain wrote (seen on an overloaded cluster: a /connect retried after a 503 was served on a second silo
/// while the first, finishing late, undid its own registration and so wiped the retry's).
/// </summary>
public sealed class StoredStateTests
{
    private static readonly DateTimeOffset First = new(2026, 12, 3, 18, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Retried = First.AddSeconds(12);

    [Fact]
    public async Task A_clear_after_a_conflict_spares_another_activations_registration_when_told_to()
    {
        var storage = new Storage();
        var late = new StoredState<ConnectionState>(storage.Activation());
        await late.ChangeAsync(s => Register(s, First, "room-a"));
        storage.WriteByAnotherActivation(Registration(Retried, "room-b"));

        Assert.False(await late.ClearAsync(s => s.AcceptedAt == First));

        Assert.Equal(Retried, storage.Stored!.AcceptedAt);
        Assert.Equal(["room-b"], late.State.Rooms);
    }

    [Fact]
    public async Task A_clear_without_a_condition_deletes_whatever_storage_holds_after_a_conflict()
    {
        var storage = new Storage();
        var leaving = new StoredState<ConnectionState>(storage.Activation());
        await leaving.ChangeAsync(s => Register(s, First, "room-a"));
        storage.WriteByAnotherActivation(Registration(Retried, "room-b"));

        Assert.True(await leaving.ClearAsync());

        Assert.Null(storage.Stored);
    }

    [Fact]
    public async Task A_change_refused_on_what_storage_holds_after_a_conflict_stores_nothing()
    {
        var storage = new Storage();
        var late = new StoredState<ConnectionState>(storage.Activation());
        storage.WriteByAnotherActivation(Registration(Retried, "room-b"));

        Assert.False(await late.ChangeAsync(s => !s.Connected && Register(s, First, "room-a")));

        Assert.Equal(Retried, storage.Stored!.AcceptedAt);
        Assert.Equal(["room-b"], late.State.Rooms);
    }

    private static bool Register(ConnectionState state, DateTimeOffset acceptedAt, string room)
    {
        state.Connected = true;
        state.AcceptedAt = acceptedAt;
        state.Rooms = new HashSet<string>([room], StringComparer.Ordinal);
        return true;
    }

    private static ConnectionState Registration(DateTimeOffset acceptedAt, string room)
    {
        var state = new ConnectionState();
        Register(state, acceptedAt, room);
        return state;
    }

    private static ConnectionState Copy(ConnectionState state) =>
        new() { Connected = state.Connected, AcceptedAt = state.AcceptedAt, Rooms = new HashSet<string>(state.Rooms, StringComparer.Ordinal) };

    /// <summary>One stored record with a version, as Orleans' Redis storage keeps it: a write from an older version is refused.</summary>
    private sealed class Storage
    {
        public ConnectionState? Stored { get; private set; }

        public int Version { get; private set; }

        public IPersistentState<ConnectionState> Activation() => new View(this);

        public void WriteByAnotherActivation(ConnectionState state)
        {
            Stored = Copy(state);
            Version++;
        }

        private sealed class View(Storage storage) : IPersistentState<ConnectionState>
        {
            public ConnectionState State { get; set; } = new();

            public string? Etag { get; private set; } = "0";

            public bool RecordExists => storage.Stored is not null;

            public Task ReadStateAsync()
            {
                State = storage.Stored is { } stored ? Copy(stored) : new ConnectionState();
                Etag = storage.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            }

            public Task WriteStateAsync()
            {
                Check();
                storage.WriteByAnotherActivation(State);
                Etag = storage.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            }

            public Task ClearStateAsync()
            {
                Check();
                storage.Stored = null;
                storage.Version++;
                Etag = storage.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                State = new ConnectionState();
                return Task.CompletedTask;
            }

            private void Check()
            {
                var current = storage.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (Etag != current) throw new InconsistentStateException("Version conflict", current, Etag ?? "");
            }
        }
    }
}

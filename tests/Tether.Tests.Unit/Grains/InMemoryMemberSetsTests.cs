using Tether.Grains;

namespace Tether.Tests.Grains;

/// <summary>The embedded shape's member sets, and a room's or shard's members kept over them.</summary>
public sealed class InMemoryMemberSetsTests
{
    [Fact]
    public async Task Adding_and_removing_are_idempotent_and_an_emptied_set_reads_empty()
    {
        var sets = new InMemoryMemberSets();
        await sets.AddAsync("room/a", "c1");
        await sets.AddAsync("room/a", "c1");
        await sets.AddAsync("room/a", "c2");
        await sets.RemoveAsync("room/a", ["c2", "nobody"]);
        await sets.RemoveAsync("room/a", ["c2"]);

        Assert.Equal(["c1"], await sets.ReadAsync("room/a"));
        Assert.Empty(await sets.ReadAsync("room/never"));

        await sets.RemoveAsync("room/a", ["c1"]);
        Assert.Empty(await sets.ReadAsync("room/a"));
        await sets.AddAsync("room/a", "c3");
        Assert.Equal(["c3"], await sets.ReadAsync("room/a"));
    }

    [Fact]
    public async Task Replacing_leaves_exactly_the_new_members_and_sets_are_apart()
    {
        var sets = new InMemoryMemberSets();
        await sets.AddAsync("shard/0/r", "old");
        await sets.AddAsync("shard/1/r", "other");

        await sets.ReplaceAsync("shard/0/r", ["n1", "n2"]);
        Assert.Equal(["n1", "n2"], (await sets.ReadAsync("shard/0/r")).Order(StringComparer.Ordinal));
        Assert.Equal(["other"], await sets.ReadAsync("shard/1/r"));

        await sets.ReplaceAsync("shard/0/r", []);
        Assert.Empty(await sets.ReadAsync("shard/0/r"));
        await sets.DeleteAsync("shard/1/r");
        Assert.Empty(await sets.ReadAsync("shard/1/r"));
    }

    [Fact]
    public async Task What_a_reader_got_does_not_change_with_later_writes()
    {
        var sets = new InMemoryMemberSets();
        await sets.AddAsync("room/b", "c1");
        var read = await sets.ReadAsync("room/b");
        await sets.AddAsync("room/b", "c2");
        Assert.Equal(["c1"], read);
    }

    [Fact]
    public async Task Concurrent_adds_and_removes_of_different_members_all_count()
    {
        var sets = new InMemoryMemberSets();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), async (i, _) =>
        {
            await sets.AddAsync("room/busy", "c" + i);
            if (i % 2 == 1) await sets.RemoveAsync("room/busy", ["c" + i]);
        });
        Assert.Equal(1000, (await sets.ReadAsync("room/busy")).Count);
    }

    [Fact]
    public async Task A_member_set_reads_back_what_it_stored_and_reports_only_real_changes()
    {
        var store = new InMemoryMemberSets();
        var members = new MemberSet(store, MemberSet.OfShard("3/room"));
        Assert.True(await members.AddAsync("c1"));
        Assert.False(await members.AddAsync("c1"));
        Assert.True(await members.AddAsync("c2"));
        Assert.False(await members.RemoveAsync("nobody"));
        Assert.True(await members.RemoveAsync("c2"));
        await members.AddAsync("c3");
        await members.TrimAsync(m => m == "c3");

        var reloaded = new MemberSet(store, MemberSet.OfShard("3/room"));
        await reloaded.LoadAsync();
        Assert.Equal(["c1"], reloaded.Members);
        Assert.Equal(1, reloaded.Count);
        Assert.True(reloaded.Contains("c1"));
        Assert.Empty(await store.ReadAsync(MemberSet.OfRoom("3/room")));
    }
}

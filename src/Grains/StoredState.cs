using Orleans.Storage;

namespace Tether.Grains;

/// <summary>
/// A grain's stored state, changed all or nothing from the caller's view: when a write fails, the in-memory state goes
/// back to what storage holds (read at once, or before the next call when storage cannot be read either), and a
/// version conflict — a write whose answer was lost did land — re-reads and applies the change again.
/// </summary>
internal sealed class StoredState<T>(IPersistentState<T> state)
{
    private bool _stale;

    public T State => state.State;

    /// <summary>Whether the in-memory state may differ from storage (a failed write that could not be read back yet).</summary>
    public bool Stale => _stale;

    /// <summary>Before serving a call: memory back to storage after a failure. Throws while storage is unreachable.</summary>
    public async ValueTask RefreshAsync()
    {
        if (!_stale) return;
        await state.ReadStateAsync();
        _stale = false;
    }

    /// <summary>
    /// Applies <paramref name="change"/> (which returns whether it changed anything) and stores it; returns whether
    /// something was stored. On failure nothing changed, in memory as in storage, and the exception propagates.
    /// </summary>
    public async Task<bool> ChangeAsync(Func<T, bool> change)
    {
        await RefreshAsync();
        if (!change(state.State)) return false;
        try
        {
            await state.WriteStateAsync();
            return true;
        }
        catch (InconsistentStateException)
        {
            await ReloadAsync();
        }
        catch (Exception)
        {
            await ForgetAsync();
            throw;
        }
        // Storage moved on (a write whose answer was lost landed, or another activation wrote): change what it holds.
        if (!change(state.State)) return false;
        try
        {
            await state.WriteStateAsync();
            return true;
        }
        catch (Exception)
        {
            await ForgetAsync();
            throw;
        }
    }

    /// <summary>
    /// Deletes the stored state; on failure memory goes back to what storage holds and the exception propagates. After a
    /// version conflict the state is deleted only while <paramref name="stillWanted"/> holds for what storage holds
    /// (another activation may have stored something this deletion must not take away); returns whether it deleted.
    /// </summary>
    public async Task<bool> ClearAsync(Func<T, bool>? stillWanted = null)
    {
        await RefreshAsync();
        try
        {
            await state.ClearStateAsync();
            return true;
        }
        catch (InconsistentStateException)
        {
            await ReloadAsync();
        }
        catch (Exception)
        {
            await ForgetAsync();
            throw;
        }
        if (stillWanted is not null && !stillWanted(state.State)) return false;
        try
        {
            await state.ClearStateAsync();
            return true;
        }
        catch (Exception)
        {
            await ForgetAsync();
            throw;
        }
    }

    /// <summary>Reads storage again now: another writer may have stored a record since (see <see cref="ConnectorGrain"/>).</summary>
    public Task ReadAgainAsync() => ReloadAsync();

    private async Task ReloadAsync()
    {
        try
        {
            await state.ReadStateAsync();
        }
        catch (Exception)
        {
            _stale = true;
            throw;
        }
    }

    /// <summary>After a failed write: read storage back now if it answers, else before the next call.</summary>
    private async Task ForgetAsync()
    {
        try
        {
            await state.ReadStateAsync();
            _stale = false;
        }
        catch (Exception)
        {
            // Storage is down: the caller gets the write's failure; the next call reads the state first.
            _stale = true;
        }
    }
}

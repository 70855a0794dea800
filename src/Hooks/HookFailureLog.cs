using Microsoft.Extensions.Logging;
using Tether.Grains;

namespace Tether.Hooks;

/// <summary>Logs hook failures, once per burst per hook (event ids 6001–6002).</summary>
internal sealed partial class HookFailureLog(FailureBursts bursts, ILogger<HookFailureLog> logger)
{
    public void Failed(HookName hook, HookCall call)
    {
        if (bursts.ShouldLog(hook, out var suppressed)) LogHookFailed(HooksOptions.WireName(hook), call.MetricLabel, call.Detail, suppressed);
    }

    public void Dropped(HookName hook)
    {
        if (bursts.ShouldLog(hook, out var suppressed)) LogNotificationDropped(HooksOptions.WireName(hook), DisconnectNotifications.Capacity, suppressed);
    }

    [LoggerMessage(EventId = 6001, EventName = "HookFailed", Level = LogLevel.Warning,
        Message = "The application's {Hook} hook failed ({Outcome}: {Detail}); {Suppressed} more failures of it since the last report")]
    private partial void LogHookFailed(string hook, string outcome, string detail, int suppressed);

    [LoggerMessage(EventId = 6002, EventName = "HookNotificationDropped", Level = LogLevel.Warning,
        Message = "A {Hook} notification was dropped: {Capacity} are already waiting; {Suppressed} more failures of it since the last report")]
    private partial void LogNotificationDropped(string hook, int capacity, int suppressed);
}

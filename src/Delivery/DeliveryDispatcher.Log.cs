using Microsoft.Extensions.Logging;
using Tether.Grains;

namespace Tether.Delivery;

public sealed partial class DeliveryDispatcher
{
    [LoggerMessage(EventId = 2000, EventName = "DeliveryFailed", Level = LogLevel.Debug,
        Message = "Delivery of {MessageId} (room {Room}) to {ConnectionId} ended {Outcome}, HTTP {Status}, after {Attempts} attempts: {Detail}")]
    private partial void LogDeliveryFailed(ManagementOutcome outcome, int status, int attempts, string messageId, string? room, string connectionId, string? detail);

    [LoggerMessage(EventId = 2001, EventName = "DeliveryFailureSummary", Level = LogLevel.Warning,
        Message = "Deliveries that ended after all retries in the last 10 s: {Throttled} throttled, {Failed} failed")]
    private partial void LogFailureSummary(int throttled, int failed);

    [LoggerMessage(EventId = 2002, EventName = "MessageTooLarge", Level = LogLevel.Warning,
        Message = "Message {MessageId} (room {Room}, {Bytes} bytes) is over the 128 KiB post limit and was not delivered")]
    private partial void LogTooLarge(string messageId, string? room, int bytes);

    [LoggerMessage(EventId = 2003, EventName = "PostCrashed", Level = LogLevel.Error,
        Message = "Posting message {MessageId} threw")]
    private partial void LogPostCrashed(Exception e, string messageId);

    [LoggerMessage(EventId = 2004, EventName = "GoneReportFailed", Level = LogLevel.Warning,
        Message = "Could not report 410 Gone for {ConnectionId} to its grain")]
    private partial void LogGoneReportFailed(Exception e, string connectionId);

    [LoggerMessage(EventId = 2005, EventName = "DroppedAtShutdown", Level = LogLevel.Warning,
        Message = "Shutting down: {Count} deliveries of message {MessageId} were not queued")]
    private partial void LogDroppedAtShutdown(int count, string messageId);

    [LoggerMessage(EventId = 2007, EventName = "DeliveriesAbandoned", Level = LogLevel.Warning,
        Message = "Shutting down: {Count} queued deliveries did not drain in time and were abandoned")]
    private partial void LogAbandoned(long count);

    // 2010-2019: a failing Management API.
    [LoggerMessage(EventId = 2010, EventName = "ManagementApiFailing", Level = LogLevel.Warning,
        Message = "The Management API's circuit breaker refuses posts ({Detail}): posts wait up to {MaxOutageDelay} for it to take them again")]
    private partial void LogManagementApiFailing(TimeSpan maxOutageDelay, string? detail);

    [LoggerMessage(EventId = 2011, EventName = "ManagementApiBack", Level = LogLevel.Information,
        Message = "The Management API takes posts again after {Lasted}; {Waiting} waiting posts go out now")]
    private partial void LogManagementApiBack(TimeSpan lasted, int waiting);

    [LoggerMessage(EventId = 2012, EventName = "DroppedInOutage", Level = LogLevel.Warning,
        Message = "Posts dropped in the last 10 s while the Management API refused them: {Expired} after waiting {MaxOutageDelay}, {Full} because {MaxQueued} were waiting already")]
    private partial void LogDroppedInOutage(int expired, TimeSpan maxOutageDelay, int full, int maxQueued);

    // 2030-2039: admission.
    [LoggerMessage(EventId = 2030, EventName = "AdmissionRefused", Level = LogLevel.Debug,
        Message = "A sender on stream {Stream} was refused: {Queued} posts stayed queued over the mark for the admission timeout")]
    private partial void LogAdmissionRefused(string stream, int queued);

    [LoggerMessage(EventId = 2031, EventName = "AdmissionsRefusedSummary", Level = LogLevel.Warning,
        Message = "{Refused} senders were refused in the last 10 s (503 overloaded): more than {MaxQueued} posts (Delivery__MaxQueued) stayed queued for {AdmissionTimeout} (Delivery__AdmissionTimeout); {Queued} queued now")]
    private partial void LogAdmissionsRefused(int refused, int maxQueued, TimeSpan admissionTimeout, int queued);
}

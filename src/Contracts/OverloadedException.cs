namespace Tether.Contracts;

/// <summary>
/// A message refused because its silo's delivery queue stayed over <c>Delivery__MaxQueued</c> for
/// <c>Delivery__AdmissionTimeout</c> (or until its call's deadline): nothing of it was done, nothing is in history, and
/// the caller hears 503 <c>overloaded</c> (send it again later). Refusing, rather than queueing it anyway, keeps the
/// queue's memory bounded however long the Management API refuses posts: docs/decisions/admission-refusal.md.
/// </summary>
[GenerateSerializer, Alias("tether.OverloadedException")]
public sealed class OverloadedException : Exception
{
    public const string Code = "overloaded";

    public const string DefaultMessage = "Delivery is backed up (the Management API takes posts slower than they arrive); this message was not processed, send it again later.";

    public OverloadedException()
        : base(DefaultMessage)
    {
    }

    public OverloadedException(string message)
        : base(message)
    {
    }

    public OverloadedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

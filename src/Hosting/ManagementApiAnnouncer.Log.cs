using Microsoft.Extensions.Logging;

namespace Tether.Hosting;

internal sealed partial class ManagementApiAnnouncer
{
    [LoggerMessage(EventId = 4010, EventName = "ManagementApiTarget", Level = LogLevel.Information,
        Message = "Posting messages to {Endpoint}/@connections/{{id}} (region {Region}, credentials from {CredentialSource})")]
    private partial void LogPosting(string endpoint, string region, string credentialSource);
}

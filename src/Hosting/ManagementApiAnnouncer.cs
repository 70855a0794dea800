using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tether.Delivery;

namespace Tether.Hosting;

/// <summary>Says once, at start, where messages are posted and how they are signed.</summary>
internal sealed partial class ManagementApiAnnouncer(ManagementApiTarget target, ILogger<ManagementApiAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogPosting(target.Endpoint.ToString().TrimEnd('/'), target.Region, target.CredentialSource);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

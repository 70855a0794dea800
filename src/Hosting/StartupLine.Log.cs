using Microsoft.Extensions.Logging;

namespace Tether.Hosting;

internal sealed partial class StartupLine
{
    [LoggerMessage(EventId = 4000, EventName = "HostStarted", Level = LogLevel.Information,
        Message = "Tether {Role} started: mode {Mode}; listening on {Addresses}; Management API {ManagementUrl}; integration secret {IntegrationSecret}; " +
                  "admin API keys {ApiKeyCount}; health /health/live, /health/ready; dashboard {Dashboard}; OpenAPI {OpenApi}; telemetry export {Telemetry}")]
    private partial void LogStarted(string role, string mode, string addresses, string managementUrl, string integrationSecret,
        int apiKeyCount, string dashboard, string openApi, string telemetry);
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Tether.LocalGateway;
using Tether.LocalGateway.Template;
using Tether.Contracts;
using Tether.LocalGateway.Host;

// The local API Gateway on its own, against any backend:
//   dotnet run --project src/LocalGateway.Host -- --backend http://localhost:5000 [--port 8080] [--stage local]
//     [--template infra/websocket-api.json] [--secret <integration secret>]
// Every LocalGateway:* setting also works as LocalGateway__* environment variable or --LocalGateway:Key=value.
var configuration = new ConfigurationBuilder()
    .AddEnvironmentVariables()
    .AddCommandLine(args, new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--backend"] = "LocalGateway:BackendUrl",
        ["--port"] = "LocalGateway:Port",
        ["--stage"] = "LocalGateway:Stage",
        ["--template"] = "LocalGateway:TemplatePath",
        ["--secret"] = "LocalGateway:StageVariables:" + LocalGatewayOptions.SecretStageVariable,
        ["--region"] = "LocalGateway:Region",
    })
    .Build();

var (options, settings) = StandaloneSettings.Bind(configuration);
using var loggerFactory = LoggerFactory.Create(logging => logging
    .AddSimpleConsole(o => o.SingleLine = true)
    .SetMinimumLevel(settings.LogLevel));
var logger = loggerFactory.CreateLogger("Tether.LocalGateway.Host");

if (string.IsNullOrWhiteSpace(options.BackendUrl))
{
    LogNoBackendUrl(logger);
    return 2;
}
if (new LocalGatewayOptionsValidator().Validate(null, options) is { Failed: true } invalid)
{
    LogConfigurationError(logger, invalid.FailureMessage);
    return 1;
}
// No secret given: the integrations send no secret header (a backend without Integration__Secrets accepts that).
options.StageVariables.TryAdd(LocalGatewayOptions.SecretStageVariable, "");

var region = options.Region!;
var (accessKeyId, secretAccessKey) = (options.AccessKeyId, options.SecretAccessKey);
if (accessKeyId is null || secretAccessKey is null)
{
    // The same fixed pair the backend's embedded default signs with when it has no AWS credentials.
    (accessKeyId, secretAccessKey) = (LocalDevelopment.AccessKeyId, LocalDevelopment.SecretAccessKey);
    LogDevelopmentCredentials(logger);
}

LocalGatewayServer server;
try
{
    server = await LocalGatewayServer.StartAsync(options, [new AcceptedCredential(accessKeyId, secretAccessKey)], region, loggerFactory);
}
catch (GatewayConfigurationException e)
{
    LogConfigurationError(logger, e.Message);
    return 1;
}

using var stop = new CancellationTokenSource();
// Ctrl+C and SIGTERM close the clients (1001) and send their $disconnect before exiting.
using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Stop);
using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Stop);
LogReady(logger, server.ConnectionUrl);
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}
await server.DisposeAsync();
return 0;

void Stop(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

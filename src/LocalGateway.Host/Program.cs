using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Tether.LocalGateway;
using Tether.LocalGateway.Template;
using Tether.Contracts;

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

using var loggerFactory = LoggerFactory.Create(logging => logging
    .AddSimpleConsole(o => o.SingleLine = true)
    .SetMinimumLevel(configuration.GetValue("LocalGateway:LogLevel", LogLevel.Information)));
var logger = loggerFactory.CreateLogger("Tether.LocalGateway.Host");

var options = new LocalGatewayOptions();
configuration.GetSection(LocalGatewayOptions.Section).Bind(options);
if (string.IsNullOrWhiteSpace(options.BackendUrl))
{
    LogNoBackendUrl(logger);
    return 2;
}
// No secret given: the integrations send no secret header (a backend without Integration__Secrets accepts that).
options.StageVariables.TryAdd(LocalGatewayOptions.SecretStageVariable, "");

var region = FirstNonEmpty(options.Region, configuration["AWS_REGION"], configuration["AWS_DEFAULT_REGION"]) ?? "us-east-1";
var accessKeyId = FirstNonEmpty(options.AccessKeyId, configuration["AWS_ACCESS_KEY_ID"]);
var secretAccessKey = FirstNonEmpty(options.SecretAccessKey, configuration["AWS_SECRET_ACCESS_KEY"]);
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

static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

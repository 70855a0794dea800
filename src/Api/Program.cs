using Tether.Abstractions;
using Tether.Api.Admin;
using Tether.Api.Integration;
using Tether.Api.OpenApi;
using Tether.Hosting;
using Tether.Telemetry;

var builder = WebApplication.CreateBuilder(args);
var configuration = builder.Configuration;

// Embedded default: no Redis configured, so this process hosts a silo with localhost clustering and in-memory state.
var embedded = string.IsNullOrWhiteSpace(configuration.GetConnectionString("redis"));
if (!embedded)
{
    throw new InvalidOperationException(
        "ConnectionStrings:redis is set, but this build runs only the embedded (one-process) shape. Unset it to run embedded.");
}

builder.UseOrleans(silo =>
{
    silo.UseLocalhostDevelopmentCluster(configuration, "tether-embedded");
    silo.AddMemoryGrainStorage(TetherStorage.Name);
    silo.AddTether(configuration, embedded: true);
});

builder.Services.AddTetherOptions(configuration);
builder.Services.Configure<IntegrationOptions>(configuration.GetSection(IntegrationOptions.Section));
builder.Services.Configure<ManagementOptions>(configuration.GetSection(ManagementOptions.Section));
builder.Services.AddProblemDetails();
builder.Services.AddTetherOpenApi();
builder.AddTetherOperations(new TetherHostDescription("api", "embedded (API and silo in one process, localhost clustering, in-memory state)",
    TetherOpenApi.DocumentPath));

var app = builder.Build();

app.UseStatusCodePages();
app.MapIntegrationEndpoints();
app.MapAdminEndpoints();
app.MapTetherOperations();
app.MapTetherOpenApi();

app.Run();

/// <summary>The entry point, visible to the endpoint tests' WebApplicationFactory.</summary>
public partial class Program;

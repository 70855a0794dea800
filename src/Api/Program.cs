using Tether.Abstractions;
using Tether.Api;
using Tether.Api.Admin;
using Tether.Api.Integration;
using Tether.Hosting;

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
builder.AddEmbeddedLocalGateway();

var app = builder.Build();

app.Logger.LogInformation("Tether starting in embedded mode (one process: API and silo, in-memory state)");
if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ManagementOptions>>().Value.ApiKeys.Count == 0)
{
    app.Logger.LogInformation("No management API key is configured: /api answers 401 until Management__ApiKeys__0 is set");
}

app.UseStatusCodePages();
app.MapIntegrationEndpoints();
app.MapAdminEndpoints();
app.MapGet("/health/live", () => Results.Ok(new { status = "live" })).ExcludeFromDescription();

app.Run();

/// <summary>The entry point, visible to the endpoint tests' WebApplicationFactory.</summary>
public partial class Program;

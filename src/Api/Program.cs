using Tether.Api.Admin;
using Tether.Api.Hosting;
using Tether.Api.Integration;
using Tether.Hosting;

var builder = WebApplication.CreateBuilder(args);
var configuration = builder.Configuration;

// Embedded (no ConnectionStrings:redis): this process hosts a silo. Cluster: it is an Orleans client of the silos.
var embedded = builder.AddTetherOrleans();

builder.Services.AddTetherOptions(configuration);
builder.Services.Configure<IntegrationOptions>(configuration.GetSection(IntegrationOptions.Section));
builder.Services.Configure<ManagementOptions>(configuration.GetSection(ManagementOptions.Section));
builder.Services.AddProblemDetails();

var app = builder.Build();

if (embedded) app.Logger.LogInformation("Tether starting in embedded mode (one process: API and silo, in-memory state)");
else app.Logger.LogInformation("Tether API starting as a client of the Redis-clustered silos");
if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ManagementOptions>>().Value.ApiKeys.Count == 0)
{
    app.Logger.LogInformation("No management API key is configured: /api answers 401 until Management__ApiKeys__0 is set");
}

app.UseStatusCodePages();
app.UseTetherClusterGuards();
app.MapIntegrationEndpoints();
app.MapAdminEndpoints();
app.MapGet("/health/live", () => Results.Ok(new { status = "live" })).ExcludeFromDescription();

app.Run();

/// <summary>The entry point, visible to the endpoint tests' WebApplicationFactory.</summary>
public partial class Program;

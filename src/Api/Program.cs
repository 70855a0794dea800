using Tether.Api;
using Tether.Api.Admin;
using Tether.Api.ChatPage;
using Tether.Api.Hosting;
using Tether.Api.Integration;
using Tether.Api.OpenApi;
using Tether.Api.Security;
using Tether.Hosting;

var builder = WebApplication.CreateBuilder(args);
var configuration = builder.Configuration;

// Embedded (no ConnectionStrings:redis): this process hosts a silo. Cluster: it is an Orleans client of the silos.
var embedded = builder.AddTetherOrleans();

builder.Services.AddTetherOptions(configuration);
builder.Services.AddTetherSecurity(configuration);
builder.Services.AddTetherHooks(configuration);
builder.Services.AddPendingDisconnects();
builder.Services.AddProblemDetails();
builder.Services.AddTetherOpenApi();
builder.AddTetherOperations(new TetherHostDescription("api",
    embedded
        ? "embedded (API and silo in one process, localhost clustering, in-memory state)"
        : "cluster (Orleans client of the Redis-clustered silos)",
    TetherOpenApi.DocumentPath));
builder.AddEmbeddedLocalGateway();
builder.AddChatPage();

var app = builder.Build();

app.UseStatusCodePages();
app.UseTetherClusterGuards();
app.MapIntegrationEndpoints();
app.MapAdminEndpoints();
app.MapTetherOperations();
app.MapTetherOpenApi();
app.MapChatPage();

app.Run();

/// <summary>The entry point, visible to the endpoint tests' WebApplicationFactory.</summary>
public partial class Program;

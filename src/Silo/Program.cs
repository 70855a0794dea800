using Tether.Abstractions;
using Tether.Hosting;
using Tether.Telemetry;

// A grain host only: clustering, storage and the grains' services. No business logic lives here.
// Its small HTTP listener serves health, the dashboard and (optionally) metrics; by default http://localhost:5100 (--urls or ASPNETCORE_URLS change it).
var builder = WebApplication.CreateBuilder(args);
var configuration = builder.Configuration;

if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString("redis")))
{
    throw new InvalidOperationException(
        "ConnectionStrings:redis is set, but Redis clustering is not part of this build yet. Unset it to run a localhost silo.");
}

builder.UseOrleans(silo =>
{
    silo.UseLocalhostDevelopmentCluster(configuration, "tether-dev");
    silo.AddMemoryGrainStorage(TetherStorage.Name);
    silo.AddTether(configuration, embedded: false);
    silo.AddTetherDashboard(configuration);
});
builder.AddTetherOperations(new TetherHostDescription("silo", "cluster (localhost clustering)"), defaultUrls: "http://localhost:5100");

var app = builder.Build();
app.MapTetherOperations();
app.Run();

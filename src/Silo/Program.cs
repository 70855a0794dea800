using Tether.Contracts;
using Tether.Hosting;

// A grain host only: clustering, storage and the grains' services. No business logic lives here.
// Its small HTTP listener serves health, the dashboard and (optionally) metrics; by default http://localhost:5100
// (--urls or ASPNETCORE_URLS change it: several silos may share a host).
const string DevelopmentClusterId = "tether-dev";

var builder = WebApplication.CreateBuilder(args);
var configuration = builder.Configuration;
var redis = TetherClusterExtensions.RedisConnectionString(configuration);

builder.UseOrleans(silo =>
{
    if (redis is null)
    {
        // Without Redis a silo can only form a localhost development cluster with in-memory state.
        silo.UseLocalhostDevelopmentCluster(configuration, DevelopmentClusterId);
        silo.AddTetherMemoryStorage();
        silo.UseInMemoryReminderService();
    }
    else
    {
        silo.UseTetherRedisCluster(configuration, redis);
    }
    silo.AddTether(configuration, embedded: false);
    silo.AddTetherDashboard(configuration);
});
builder.Services.AddTetherShutdownTimeout();
builder.AddTetherOperations(new TetherHostDescription("silo",
    redis is null ? "cluster (localhost clustering, in-memory state)" : "cluster (Redis clustering and storage)"), defaultUrls: "http://localhost:5100");

var app = builder.Build();
app.MapTetherOperations();
app.Run();

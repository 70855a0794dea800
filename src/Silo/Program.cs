using Tether.Abstractions;
using Tether.Hosting;

// A grain host only: clustering, storage, the grains' services and a liveness endpoint. No business logic lives here.
var builder = WebApplication.CreateSlimBuilder(args);
var configuration = builder.Configuration;
var redis = TetherClusterExtensions.RedisConnectionString(configuration);

builder.UseOrleans(silo =>
{
    if (redis is null)
    {
        // Without Redis a silo can only form a localhost development cluster with in-memory state.
        silo.UseLocalhostDevelopmentCluster(configuration, "tether-dev");
        silo.AddMemoryGrainStorage(TetherStorage.Name);
        silo.UseInMemoryReminderService();
    }
    else
    {
        silo.UseTetherRedisCluster(configuration, redis);
    }
    silo.AddTether(configuration, embedded: false);
});
builder.Services.AddTetherShutdownTimeout(configuration);
// Several silos share a host, so the health listener has its own port: --urls / ASPNETCORE_URLS, default 5100.
if (string.IsNullOrWhiteSpace(configuration["urls"])) builder.WebHost.UseUrls("http://localhost:5100");

var app = builder.Build();
app.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
app.Run();

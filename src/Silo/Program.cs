using Tether.Abstractions;
using Tether.Hosting;

// A grain host only: clustering, storage and the grains' services. No business logic lives here.
var builder = Host.CreateApplicationBuilder(args);
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
});

builder.Build().Run();

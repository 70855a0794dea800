using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Tether.LocalGateway;

namespace Tether.Tests.Api;

/// <summary>
/// API Gateway sends <c>$disconnect</c> once. When storage is down at that moment, the API answers 503 and keeps the
/// disconnect; once storage answers again the connection is gone everywhere — no ghost stored as connected.
/// </summary>
public sealed class DisconnectDuringOutageTests : IAsyncLifetime
{
    private readonly InMemoryConnections _connections = new();
    private readonly OutageStorage _storage = new();
    private ManagementApiEmulatorHost _gateway = null!;
    private WebApplicationFactory<Program> _factory = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), _connections);
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("ManagementApi:Endpoint", _gateway.ConnectionUrl.ToString());
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("LocalGateway:Enabled", "false");
            web.ConfigureTestServices(services => services.AddGrainStorage(TetherStorage.Name,
                (sp, _) => _storage.For(sp.GetRequiredService<Orleans.Serialization.Serializer>())));
        });
        _http = _factory.CreateClient();
        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
        await _gateway.DisposeAsync();
    }

    private async Task<HttpStatusCode> PostAsync(string path, string json)
    {
        using var response = await _http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return response.StatusCode;
    }

    [Fact]
    public async Task A_disconnect_refused_during_a_storage_outage_is_carried_out_once_storage_answers()
    {
        var id = Convert.ToBase64String(Guid.NewGuid().ToByteArray())[..16] + "=";
        _connections.Add(id);
        Assert.Equal(HttpStatusCode.OK, await PostAsync("/connect", $"{{\"connection_id\":\"{id}\"}}"));
        var grains = _factory.Services.GetRequiredService<IGrainFactory>();
        Assert.NotNull(await grains.GetGrain<IConnectionGrain>(id).GetSnapshot());

        _storage.Fail("connection");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await PostAsync("/disconnect", $"{{\"connection_id\":\"{id}\"}}"));

        _storage.Heal();
        await Eventually.HoldsAsync(async () =>
        {
            Assert.Null(await grains.GetGrain<IConnectionGrain>(id).GetSnapshot());
            Assert.False(await grains.GetGrain<IRoomGrain>("lobby").IsMember(id));
        }, TimeSpan.FromSeconds(20), "the disconnect carried out after the outage");
    }
}

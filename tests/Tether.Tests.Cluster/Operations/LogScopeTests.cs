using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tether.LocalGateway;

namespace Tether.Tests.Operations;

/// <summary>A grain's log lines carry the connection id and API Gateway's request id as scopes, across the grain call.</summary>
public sealed class LogScopeTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, string Message, List<KeyValuePair<string, object?>> Scope)> _entries = new();
    private ManagementApiEmulatorHost _gateway = null!;
    private WebApplicationFactory<Program> _factory = null!;

    public async Task InitializeAsync()
    {
        _gateway = await ManagementApiEmulatorHost.StartAsync(TestCredentials.EmulatorOptions(), new InMemoryConnections());
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ManagementApi:Endpoint", _gateway.ConnectionUrl.ToString());
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Logging:LogLevel:Tether", "Debug");
            web.ConfigureServices(services => services.AddSingleton<ILoggerProvider>(_ => new ScopeCapture(_entries)));
        });
        _ = _factory.Server;
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _gateway.DisposeAsync();
    }

    [Fact]
    public async Task The_grain_serving_connect_logs_under_the_connection_and_gateway_request_scope()
    {
        var id = "scope" + Guid.NewGuid().ToString("N")[..10] + "=";
        using var http = _factory.CreateClient();
        using var content = new StringContent($"{{\"connection_id\":\"{id}\",\"request_id\":\"req-scope-1\"}}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/connect", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var line = Assert.Single(_entries, e => e.Category == "Tether.Grains.ConnectorGrain" && e.Message.Contains(id, StringComparison.Ordinal));
        Assert.Equal(LogLevel.Debug, line.Level);
        Assert.Contains(new KeyValuePair<string, object?>("ConnectionId", id), line.Scope);
        Assert.Contains(new KeyValuePair<string, object?>("GatewayRequestId", "req-scope-1"), line.Scope);
    }

    private sealed class ScopeCapture(ConcurrentQueue<(string Category, LogLevel Level, string Message, List<KeyValuePair<string, object?>> Scope)> entries)
        : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ConcurrentQueue<(string Category, LogLevel Level, string Message, List<KeyValuePair<string, object?>> Scope)> Entries => entries;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(ScopeCapture owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scope = new List<KeyValuePair<string, object?>>();
                owner._scopes.ForEachScope((s, list) =>
                {
                    if (s is IEnumerable<KeyValuePair<string, object?>> pairs) list.AddRange(pairs);
                }, scope);
                owner.Entries.Enqueue((category, logLevel, formatter(state, exception), scope));
            }
        }
    }
}

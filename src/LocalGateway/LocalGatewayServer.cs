using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tether.LocalGateway.Template;

namespace Tether.LocalGateway;

/// <summary>
/// The local API Gateway on its own Kestrel server (loopback unless configured otherwise): WebSockets at <c>ws://localhost:{port}/{stage}</c>
/// and the Management API at <c>http://localhost:{port}/{stage}/@connections/{id}</c>, configured from the
/// CloudFormation template plus the backend URL. A development and test tool, not a production component.
/// </summary>
public sealed partial class LocalGatewayServer : IAsyncDisposable
{
    /// <summary>The template compiled into this assembly: <c>infra/websocket-api.json</c>.</summary>
    public const string DefaultTemplateName = "infra/websocket-api.json";

    private readonly WebApplication _app;

    private LocalGatewayServer(WebApplication app, WebSocketGateway gateway, ManagementApiEmulator emulator, int port, string stage)
    {
        _app = app;
        Gateway = gateway;
        ManagementApi = emulator;
        Port = port;
        WebSocketUrl = new Uri($"ws://localhost:{port}/{stage}");
        ConnectionUrl = new Uri($"http://localhost:{port}/{stage}");
    }

    public WebSocketGateway Gateway { get; }
    public ManagementApiEmulator ManagementApi { get; }
    public FaultInjection Faults => ManagementApi.Faults;
    public int Port { get; }

    /// <summary>What clients connect to, e.g. <c>ws://localhost:8080/local</c>.</summary>
    public Uri WebSocketUrl { get; }

    /// <summary>The backend's <c>RESPONSE_MESSAGE_URL</c>, e.g. <c>http://localhost:8080/local</c>.</summary>
    public Uri ConnectionUrl { get; }

    /// <summary>The default template's text.</summary>
    public static string ReadDefaultTemplate()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(DefaultTemplateName)
                           ?? throw new InvalidOperationException($"The compiled-in template {DefaultTemplateName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Reads the template named by the options (or the compiled-in one) with the backend URL and stage variables applied.</summary>
    public static GatewayDefinition LoadDefinition(LocalGatewayOptions options, string region)
    {
        var (name, text) = options.TemplatePath is { Length: > 0 } path
            ? (path, File.Exists(path) ? File.ReadAllText(path) : throw new GatewayConfigurationException($"The template {path} does not exist."))
            : (DefaultTemplateName, ReadDefaultTemplate());
        var parameters = new Dictionary<string, string>(options.Parameters, StringComparer.Ordinal);
        if (!string.IsNullOrWhiteSpace(options.BackendUrl)) parameters[LocalGatewayOptions.BackendUrlParameter] = options.BackendUrl.TrimEnd('/');
        return CloudFormationReader.Read(text, name, parameters, options.StageVariables, region);
    }

    /// <summary>Starts listening on localhost (or <c>options.ListenAddress</c>) at <c>options.Port</c> (0 picks a free port).</summary>
    public static async Task<LocalGatewayServer> StartAsync(
        LocalGatewayOptions options, IReadOnlyList<AcceptedCredential> credentials, string region, ILoggerFactory? loggerFactory = null,
        HttpMessageHandler? backendHandler = null)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        var definition = LoadDefinition(options, region);
        var logger = loggerFactory.CreateLogger("Tether.LocalGateway");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var listenPort = options.Port == 0 ? FreeLoopbackPort() : options.Port;
        if (string.IsNullOrWhiteSpace(options.ListenAddress))
        {
            builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(listenPort));
        }
        else if (System.Net.IPAddress.TryParse(options.ListenAddress, out var listenAddress))
        {
            builder.WebHost.ConfigureKestrel(k => k.Listen(listenAddress, listenPort));
        }
        else
        {
            throw new GatewayConfigurationException($"LocalGateway:ListenAddress '{options.ListenAddress}' is not an IP address (e.g. 0.0.0.0).");
        }
        builder.Services.AddRoutingCore();
        var app = builder.Build();

        // Integration calls are never retried (API Gateway does not retry them); connections are pooled.
        var http = new HttpClient(backendHandler ?? new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) }, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var throttle = StageThrottle.From(definition);
        var gateway = new WebSocketGateway(definition, options, new IntegrationInvoker(http, logger), logger, throttle: throttle);
        var emulator = new ManagementApiEmulator(
            new ManagementApiEmulatorOptions { Stage = options.Stage, Region = region, Credentials = [.. credentials] }, gateway, throttle: throttle);
        options.Faults.ApplyTo(emulator.Faults);

        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Use(async (context, next) =>
        {
            if (gateway.IsWebSocketPath(context.Request.Path)) await gateway.HandleAsync(context);
            else await next(context);
        });
        app.MapManagementApi(emulator);
        app.Lifetime.ApplicationStopping.Register(() => gateway.StopAsync().GetAwaiter().GetResult());
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            http.Dispose();
            gateway.Dispose();
        });

        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new GatewayConfigurationException(
                $"The local gateway cannot listen on port {options.Port}: {e.Message} Set LocalGateway__Port to a free port, or LocalGateway__Enabled=false.");
        }
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        var server = new LocalGatewayServer(app, gateway, emulator, port, options.Stage);
        LogStarted(logger, options.TemplatePath ?? DefaultTemplateName, server.WebSocketUrl, server.ConnectionUrl,
            string.Join(", ", definition.Routes.Values.Select(r => $"{r.RouteKey} → {r.Integration.Method} {r.Integration.Uri}{(r.TwoWay ? " (two-way)" : "")}")));
        return server;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

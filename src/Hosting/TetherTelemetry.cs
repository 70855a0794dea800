using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Diagnostics;
using Tether.Delivery;
using Tether.Grains;

namespace Tether.Hosting;

/// <summary>Telemetry export (configuration section <c>Telemetry</c>; OTLP also turns on with the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>OpenTelemetry's standard variables, read as fallbacks by <see cref="Bind"/> only.</summary>
    private const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    private const string ServiceNameVariable = "OTEL_SERVICE_NAME";

    /// <summary>Export logs, metrics and traces over OTLP. Unset: on exactly when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    public bool? Otlp { get; set; }

    /// <summary>Write metrics and traces to the console (local use; noisy).</summary>
    public bool Console { get; set; }

    /// <summary>Serve metrics for Prometheus at <see cref="PrometheusPath"/>, behind the admin API key.</summary>
    public bool Prometheus { get; set; }

    public string PrometheusPath { get; set; } = "/metrics";

    /// <summary>Share of new traces kept (0 to 1); a trace whose caller sampled it is always kept.</summary>
    public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>
    /// Also trace Orleans' internal calls (source <c>Microsoft.Orleans.Runtime</c>: membership polling, timers, directory).
    /// They start new traces every few seconds on every silo, so they are off unless the cluster itself is being debugged.
    /// </summary>
    public bool OrleansRuntimeTraces { get; set; }

    /// <summary>Whether <c>OTEL_SERVICE_NAME</c> names the service (the SDK reads it); not a setting of ours.</summary>
    internal bool ServiceNamedByEnvironment { get; private set; }

    internal bool OtlpEnabled => Otlp == true;

    /// <summary>For the start line: which exporters are on.</summary>
    public string Describe()
    {
        var on = new List<string>();
        if (OtlpEnabled) on.Add("otlp");
        if (Prometheus) on.Add("prometheus " + PrometheusPath);
        if (Console) on.Add("console");
        return on.Count == 0 ? "none" : string.Join(", ", on);
    }

    /// <summary>The one binding step: the section, then OpenTelemetry's standard variables for what it leaves unset.</summary>
    internal static void Bind(IConfiguration configuration, TelemetryOptions options)
    {
        configuration.GetSection(Section).Bind(options);
        options.Otlp ??= !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);
        options.ServiceNamedByEnvironment = !string.IsNullOrWhiteSpace(configuration[ServiceNameVariable]);
    }
}

internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var problems = new List<string>();
        if (options.TraceSampleRatio is not (>= 0 and <= 1)) problems.Add("Telemetry__TraceSampleRatio must be between 0 and 1.");
        if (!options.PrometheusPath.StartsWith('/')) problems.Add("Telemetry__PrometheusPath must start with '/'.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

public static class TetherTelemetry
{
    /// <summary>Orleans' own meter (activations, messaging, membership, storage…).</summary>
    public const string OrleansMeterName = "Microsoft.Orleans";

    /// <summary>Tether's instruments; every silo registers them (they cost nothing unless something listens).</summary>
    public static IServiceCollection AddTetherMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<MessageMetrics>();
        services.TryAddSingleton<DeliveryMetrics>();
        return services;
    }

    /// <summary>
    /// OpenTelemetry for this host: Tether's and Orleans' meters, ASP.NET Core and HttpClient instrumentation, Orleans'
    /// activity sources (trace context crosses grain calls through <c>AddActivityPropagation</c>). Nothing is exported,
    /// and the SDK is not even started, unless an exporter is configured.
    /// </summary>
    public static IHostApplicationBuilder AddTetherTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var configuration = builder.Configuration;
        builder.Services.AddOptions<TelemetryOptions>().Configure(o => TelemetryOptions.Bind(configuration, o)).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>());
        builder.Services.AddTetherMetrics();

        // Which exporters exist decides what is registered, so the same binding step runs once here too.
        var options = new TelemetryOptions();
        TelemetryOptions.Bind(configuration, options);
        var otlp = options.OtlpEnabled;
        if (!otlp && !options.Console && !options.Prometheus) return builder;

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME, when set, names the service; otherwise the host's role does.
                if (!options.ServiceNamedByEnvironment) resource.AddService(serviceName);
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(MessageMetrics.MeterName, OrleansMeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (options.Console) metrics.AddConsoleExporter();
                if (options.Prometheus) metrics.AddPrometheusExporter();
            })
            .WithTracing(tracing =>
            {
                tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.TraceSampleRatio)))
                    .AddSource(ActivitySources.ApplicationGrainActivitySourceName, ActivitySources.StorageActivitySourceName)
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsOperationalPath(context.Request.Path, options))
                    // A post made by a dispatcher worker has no parent: tracing each of a 100,000-member fan-out would
                    // flood the collector, so only calls made inside a trace (GetConnection, DeleteConnection) get spans.
                    // Posts are measured by the tether.deliveries metrics instead.
                    .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = _ => Activity.Current is not null);
                if (options.OrleansRuntimeTraces) tracing.AddSource(ActivitySources.RuntimeActivitySourceName);
                if (options.Console) tracing.AddConsoleExporter();
            });
        if (otlp)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeScopes = true;
                logging.IncludeFormattedMessage = true;
            });
            telemetry.UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>Maps the Prometheus scrape endpoint when it is enabled; it requires an admin API key.</summary>
    public static IEndpointRouteBuilder MapTetherTelemetry(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (options.Prometheus)
        {
            app.MapPrometheusScrapingEndpoint(options.PrometheusPath)
                .RequireApiKey()
                .ExcludeFromDescription();
        }
        return app;
    }

    private static bool IsOperationalPath(PathString path, TelemetryOptions options) =>
        path.StartsWithSegments("/health") || (options.Prometheus && path.StartsWithSegments(options.PrometheusPath));
}

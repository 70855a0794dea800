using System.Text;
using Microsoft.Extensions.Logging;
using Tether.LocalGateway.Template;

namespace Tether.LocalGateway;

/// <summary>What the backend answered; <see cref="Failed"/> when there was no answer (connection error, timeout, template error).</summary>
public sealed record IntegrationResult(bool Failed, int Status, string Body)
{
    public bool Succeeded => !Failed && Status is >= 200 and < 300;

    public static IntegrationResult Failure { get; } = new(true, 500, "");
}

/// <summary>The request-side data of one integration call besides the template input: the <c>$connect</c> request's headers and query.</summary>
public sealed record RouteRequest(TemplateInput Input, IReadOnlyDictionary<string, string>? ForwardedHeaders = null);

/// <summary>Calls an HTTP integration as API Gateway does: renders the request template, maps request parameters, enforces the timeout.</summary>
public sealed partial class IntegrationInvoker(HttpClient http, ILogger logger)
{
    public async Task<IntegrationResult> InvokeAsync(GatewayIntegration integration, RouteRequest request, CancellationToken cancellationToken)
    {
        var input = request.Input;
        string? body;
        try
        {
            body = BodyFor(integration, input);
        }
        catch (TemplateRenderException e)
        {
            LogTemplateFailed(integration.Name, input.Context["connectionId"], e.Message);
            return IntegrationResult.Failure;
        }
        if (body is null) return IntegrationResult.Failure;

        var uri = integration.Uri;
        using var message = new HttpRequestMessage(integration.Method, uri);
        var query = new List<string>();
        if (request.ForwardedHeaders is not null)
        {
            foreach (var (name, value) in request.ForwardedHeaders) message.Headers.TryAddWithoutValidation(name, value);
        }
        var contentType = integration.Proxy ? "text/plain; charset=utf-8" : "application/json";
        foreach (var parameter in integration.Parameters)
        {
            var value = parameter.Source switch
            {
                ParameterSourceKind.Static => parameter.Value,
                ParameterSourceKind.StageVariable => input.StageVariables.GetValueOrDefault(parameter.Value, ""),
                ParameterSourceKind.RequestHeader => input.Headers.GetValueOrDefault(parameter.Value, ""),
                ParameterSourceKind.RequestQueryString => input.Query.GetValueOrDefault(parameter.Value, ""),
                _ => input.Context.GetValueOrDefault(parameter.Value, ""),
            };
            // An absent source (e.g. no secret configured locally) sends no header rather than an empty one.
            if (value.Length == 0) continue;
            if (parameter.Target == ParameterTarget.QueryString)
            {
                query.Add(Uri.EscapeDataString(parameter.Name) + "=" + Uri.EscapeDataString(value));
            }
            else if (string.Equals(parameter.Name, "Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = value;
            }
            else
            {
                message.Headers.Remove(parameter.Name);
                message.Headers.TryAddWithoutValidation(parameter.Name, value);
            }
        }
        if (query.Count > 0) message.RequestUri = new Uri(uri + (uri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + string.Join('&', query));
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        message.Content = content;

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(integration.Timeout);
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            LogIntegrationAnswered(input.Context["routeKey"], integration.Method, uri, (int)response.StatusCode);
            return new IntegrationResult(false, (int)response.StatusCode, text);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogIntegrationTimedOut(integration.Name, uri, integration.Timeout);
            return IntegrationResult.Failure;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidOperationException)
        {
            LogIntegrationFailed(integration.Name, uri, e.Message);
            return IntegrationResult.Failure;
        }
    }

    /// <summary>The integration request's body; null when API Gateway would refuse it (no matching template and passthrough not allowed).</summary>
    private string? BodyFor(GatewayIntegration integration, TemplateInput input)
    {
        if (integration.Proxy) return input.Body;
        if (integration.Template is not null) return integration.Template.Render(input);
        var passthrough = integration.Passthrough switch
        {
            PassthroughBehavior.WhenNoMatch => true,
            PassthroughBehavior.WhenNoTemplates => !integration.HasTemplates,
            _ => false,
        };
        if (!passthrough)
        {
            LogBodyRefused(integration.Name);
            return null;
        }
        return input.Body;
    }
}

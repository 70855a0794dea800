namespace Tether.LocalGateway.Template;

/// <summary>The template asks for something the local gateway cannot do faithfully: it refuses to start rather than behave differently from API Gateway.</summary>
public sealed class GatewayConfigurationException(string message) : Exception(message);

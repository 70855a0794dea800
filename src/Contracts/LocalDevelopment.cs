namespace Tether.Contracts;

/// <summary>
/// What the embedded backend and the local gateway agree on when no AWS account is involved: where the gateway serves
/// the Management API, and the credential pair both sides sign and verify with when no AWS credentials exist at all.
/// </summary>
public static class LocalDevelopment
{
    public const string GatewayEndpoint = "http://localhost:8080/local";

    public const string AccessKeyId = "AKIDTETHERLOCALDEV00";

    public const string SecretAccessKey = "tether-local-development-secret-not-for-aws";
}

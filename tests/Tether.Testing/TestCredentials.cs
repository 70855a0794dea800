using Amazon.Runtime;
using Tether.LocalGateway;

namespace Tether.Testing;

public static class TestCredentials
{
    public const string AccessKeyId = "AKIDTESTTETHER";
    public const string SecretAccessKey = "test-secret-key-for-the-emulator";

    public static BasicAWSCredentials Aws => new(AccessKeyId, SecretAccessKey);

    public static ManagementApiEmulatorOptions EmulatorOptions(string stage = "local") => new()
    {
        Stage = stage,
        Region = "us-east-1",
        Credentials = [new AcceptedCredential(AccessKeyId, SecretAccessKey)],
    };
}

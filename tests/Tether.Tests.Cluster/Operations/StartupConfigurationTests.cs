using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Tether.Tests.Operations;

/// <summary>Settings Orleans would refuse later, one call at a time, are refused at start instead, naming the key.</summary>
public sealed class StartupConfigurationTests
{
    private static WebApplicationFactory<Program> Host(params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("ManagementApi:AccessKeyId", TestCredentials.AccessKeyId);
            web.UseSetting("ManagementApi:SecretAccessKey", TestCredentials.SecretAccessKey);
            web.UseSetting("Orleans:Endpoints:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            web.UseSetting("Orleans:Endpoints:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture));
            foreach (var (key, value) in settings) web.UseSetting(key, value);
        });

    [Fact]
    public async Task A_sweep_interval_below_the_reminder_minimum_stops_the_start()
    {
        // Orleans refuses a reminder period below ReminderOptions.MinimumReminderPeriod (1 minute): the sweep bucket's
        // reminder could not be registered, and every /connect would fail after its connection was stored.
        await using var host = Host(("Connections:SweepInterval", "00:00:10"));

        var error = Record.Exception(() => host.Server);

        Assert.NotNull(error);
        var failure = error.ToString();
        Assert.Contains("Connections__SweepInterval", failure, StringComparison.Ordinal);
        Assert.Contains("00:01:00", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sweep_interval_of_the_reminder_minimum_starts_and_connects()
    {
        await using var host = Host(("Connections:SweepInterval", "00:01:00"));
        using var http = host.CreateClient();

        var response = await http.PostAsync("/connect", SecurityFixture.Json("{\"connection_id\":\"sweep-minimum=\"}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task An_admission_wait_that_outlasts_the_response_timeout_stops_the_start()
    {
        // Embedded, the API's grain calls time out with the silo's (Orleans' 30 s): a sender held by admission for
        // 28 s, plus the rest of its call, would be answered 503 for a message that is then delivered.
        await using var host = Host(("Delivery:AdmissionTimeout", "00:00:28"));

        var error = Record.Exception(() => host.Server);

        Assert.NotNull(error);
        var failure = error.ToString();
        Assert.Contains("Delivery__AdmissionTimeout", failure, StringComparison.Ordinal);
        Assert.Contains("response timeout", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Delivery:MaxPostsPerSecond", "0", "Delivery__MaxPostsPerSecond")]
    [InlineData("Delivery:MaxPostsPerSecond", "-1", "Delivery__MaxPostsPerSecond")]
    [InlineData("Delivery:MaxBatchBytes", "131073", "Delivery__MaxBatchBytes")]
    public async Task A_post_budget_below_one_or_a_batch_above_api_gateways_128_KiB_stops_the_start_naming_the_key(string key, string value, string named)
    {
        await using var host = Host((key, value));

        var error = Record.Exception(() => host.Server);

        Assert.NotNull(error);
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
    }
}

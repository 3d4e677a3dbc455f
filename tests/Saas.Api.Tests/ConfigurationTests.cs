using Microsoft.Extensions.Options;

namespace Saas.Api.Tests;

/// <summary>A resolution configuration no request could satisfy stops the Api at startup, saying what is wrong.</summary>
public sealed class ConfigurationTests(PostgresFixture postgres)
{
    [Theory]
    [InlineData("Tenancy:Resolution:Strategies:0", "cookie", "known strategies are claim, route, host, header")]
    [InlineData("Tenancy:Resolution:HostPattern", "example.com", "must contain {tenant}")]
    [InlineData("Tenancy:Resolution:HeaderName", " ", "must not be empty")]
    public async Task A_bad_resolution_setting_fails_at_startup_with_a_clear_message(string key, string value, string expected)
    {
        await using var api = new ApiFactory(await postgres.Cluster.CreateDatabaseAsync(TestContext.Current.CancellationToken), [new(key, value)]);
        var refused = Assert.Throws<OptionsValidationException>(() => api.CreateClient());
        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
    }
}

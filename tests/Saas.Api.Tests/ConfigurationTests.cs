using Microsoft.Extensions.Options;

namespace Saas.Api.Tests;

/// <summary>A resolution configuration no request could satisfy stops the Api at startup, saying what is wrong.</summary>
public sealed class ConfigurationTests(PostgresFixture postgres)
{
    [Theory]
    [InlineData("Tenancy:Resolution:Strategies:0", "cookie", "known strategies are claim, route, host, header")]
    [InlineData("Tenancy:Resolution:Strategies:4", "claim", "names 'claim' more than once")]
    [InlineData("Tenancy:Resolution:HostPattern", "example.com", "must contain {tenant}")]
    [InlineData("Tenancy:Resolution:HostPattern", "{tenant}.{tenant}.example.com", "exactly once")]
    [InlineData("Tenancy:Resolution:HeaderName", " ", "must not be empty")]
    public async Task A_bad_resolution_setting_fails_at_startup_with_a_clear_message(string key, string value, string expected)
    {
        string database = await postgres.Cluster.CreateDatabaseAsync(TestContext.Current.CancellationToken);

        // WebApplicationFactory can lose a failed start to a race and throw ObjectDisposedException for the host's
        // IServiceProvider instead (dotnet/aspnetcore#33494): a fresh factory is asked again, a few times at most.
        for (int attempt = 1; ; attempt++)
        {
            await using var api = new ApiFactory(database, [new(key, value)]);
            Exception? refused = Record.Exception(() => api.CreateClient());
            if (refused is ObjectDisposedException && attempt < 3)
            {
                continue;
            }

            Assert.Contains(expected, Assert.IsType<OptionsValidationException>(refused).Message, StringComparison.Ordinal);
            return;
        }
    }
}

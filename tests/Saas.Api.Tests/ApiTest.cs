using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Saas.Api.Tenancy;

namespace Saas.Api.Tests;

/// <summary>Gives each test the Api over a fresh database.</summary>
public abstract class ApiTest(PostgresFixture postgres) : IAsyncLifetime
{
    private ApiFactory? _api;

    protected ApiFactory Api => _api ?? throw new InvalidOperationException("Not initialised.");

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>Extra configuration for this test class's Api.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    /// <summary>The order this test class's Api resolves tenants in.</summary>
    protected virtual IReadOnlyList<string> Strategies => StrategyOrders.ClaimFirst;

    /// <summary>
    /// Whether this test class's Api logs in as an app role of its own and its Worker as that and an owner role of its
    /// own (owns the database, creates roles, not a superuser), as the AppHost deploys them; else both log in as the
    /// superuser. The test's own queries (<see cref="ApiFactory.ConnectionString"/>) run as the superuser either way.
    /// </summary>
    protected virtual bool SplitRoles => false;

    /// <summary>Services this test class's Api gets in place of its own.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public virtual async ValueTask InitializeAsync()
    {
        string database = await postgres.Cluster.CreateDatabaseAsync(Cancellation);
        if (!SplitRoles)
        {
            _api = new ApiFactory(database, Settings, ConfigureServices, Strategies);
            return;
        }

        // The Api never creates the catalog with the app's role: it starts once the Worker is ready, as in the AppHost.
        _api = new ApiFactory(database, Settings, ConfigureServices, Strategies, logins: await AppLogins.CreateAsync(database, Cancellation));
        await _api.Worker.StartReadyAsync(Cancellation);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Asserts an RFC 9457 problem details response of the given status and problem type.</summary>
    protected static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status, string? type = null)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        if (type is not null)
        {
            Assert.Equal(TenantProblems.TypePrefix + type, problem.GetProperty("type").GetString());
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        }

        return problem;
    }
}

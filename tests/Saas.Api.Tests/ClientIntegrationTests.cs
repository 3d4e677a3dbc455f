using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using Saas.Data;
using Tenants.Shared;

namespace Saas.Api.Tests;

/// <summary>
/// The app's DbContext as Aspire's PostgreSQL client integration enriches it, each setting read from
/// <c>Aspire:Npgsql:EntityFrameworkCore:PostgreSQL</c>: the context's health check on /health, retries (off as
/// shipped, on when configured, and then a retried query still serves its tenant), and the command timeout.
/// </summary>
public sealed class ClientIntegrationTests(PostgresFixture postgres)
{
    private const string Section = "Aspire:Npgsql:EntityFrameworkCore:PostgreSQL";
    private const string CheckName = nameof(AppDbContext);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_contexts_health_check_reports_the_database_through_health()
    {
        await using ApiFactory api = new(await postgres.Cluster.CreateDatabaseAsync(Cancellation), startWorker: false);
        using HttpClient client = api.Client(null);
        Assert.Contains(CheckName, Registrations(api));
        Assert.Equal(HealthStatus.Healthy, (await api.Service<HealthCheckService>().CheckHealthAsync(r => r.Name == CheckName, Cancellation)).Status);
        Assert.Equal("Healthy", await HealthAsync(client, HttpStatusCode.OK));

        // The database refuses new connections and the pool holds none: only the context's check can see it.
        string database = new NpgsqlConnectionStringBuilder(api.ConnectionString).Database!;
        await AllowConnectionsAsync(database, false);
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    api.Service<TenantDataSource>().Unrouted.Clear();
                    return await HealthAsync(client) == "Unhealthy";
                },
                "/health to report the refused database",
                Cancellation);
        }
        finally
        {
            await AllowConnectionsAsync(database, true);
        }

        await Eventually.UntilAsync(async () => await HealthAsync(client) == "Healthy", "/health to report the database back", Cancellation);
    }

    [Fact]
    public async Task DisableHealthChecks_leaves_the_context_out_of_health()
    {
        await using ApiFactory api = new(await postgres.Cluster.CreateDatabaseAsync(Cancellation), [new($"{Section}:DisableHealthChecks", "true")], startWorker: false);
        using HttpClient client = api.Client(null);
        Assert.Equal("Healthy", await HealthAsync(client, HttpStatusCode.OK));
        Assert.DoesNotContain(CheckName, Registrations(api));
    }

    [Fact]
    public async Task As_shipped_a_query_on_a_broken_connection_fails_at_once_and_is_not_retried()
    {
        await using ApiFactory api = new(await postgres.Cluster.CreateDatabaseAsync(Cancellation));
        await api.ProvisionAsync("enrich_shipped");
        await using TenantScope scope = await api.Service<TenantContext>().EnterAsync("enrich_shipped", Cancellation);
        await using AsyncServiceScope services = api.Services.CreateAsyncScope();
        AppDbContext db = services.ServiceProvider.GetRequiredService<AppDbContext>();
        Assert.False(db.Database.CreateExecutionStrategy().RetriesOnFailure);

        Assert.Equal("enrich_shipped", await CurrentSchemaAsync(db));
        await TerminateAsync(db);
        Exception failed = await Assert.ThrowsAnyAsync<Exception>(() => CurrentSchemaAsync(db));
        Assert.IsNotType<RetryLimitExceededException>(failed);
    }

    [Fact]
    public async Task Configured_retries_replay_a_query_on_a_new_connection_routed_to_the_same_tenant()
    {
        await using ApiFactory api = new(await postgres.Cluster.CreateDatabaseAsync(Cancellation), [new($"{Section}:DisableRetry", "false"), new($"{Section}:CommandTimeout", "17")]);
        await api.ProvisionAsync("enrich_a", "enrich_b");
        await using TenantScope scope = await api.Service<TenantContext>().EnterAsync("enrich_a", Cancellation);
        await using AsyncServiceScope services = api.Services.CreateAsyncScope();
        AppDbContext db = services.ServiceProvider.GetRequiredService<AppDbContext>();
        Assert.True(db.Database.CreateExecutionStrategy().RetriesOnFailure);
        Assert.Equal(17, db.Database.GetCommandTimeout());

        // The context keeps its routed connection between queries; the server ends that session under it.
        Assert.Equal("enrich_a", await CurrentSchemaAsync(db));
        int before = await TerminateAsync(db);
        Assert.Equal("enrich_a", await CurrentSchemaAsync(db));
        Assert.NotEqual(before, ((NpgsqlConnection)db.Database.GetDbConnection()).ProcessID);

        // The other tenant's scope, on the same context: routed there, not left where the retry put it.
        await using (await api.Service<TenantContext>().EnterAsync("enrich_b", Cancellation))
        {
            Assert.Equal("enrich_b", await CurrentSchemaAsync(db));
        }
    }

    private static string[] Registrations(ApiFactory api) =>
        [.. api.Service<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name)];

    /// <summary>/health's body, asserting its status when one is given.</summary>
    private static async Task<string> HealthAsync(HttpClient client, HttpStatusCode? expected = null)
    {
        using HttpResponseMessage response = await client.GetAsync("/health", Cancellation);
        if (expected is not null)
        {
            Assert.Equal(expected, response.StatusCode);
        }

        return await response.Content.ReadAsStringAsync(Cancellation);
    }

    /// <summary>The schema the context's query ran in, through EF Core (a routed command, as any of the app's).</summary>
    private static async Task<string> CurrentSchemaAsync(AppDbContext db) =>
        (await db.Database.SqlQuery<string>($"SELECT current_schema() AS \"Value\"").ToListAsync(Cancellation)).Single();

    /// <summary>Ends the server session behind the context's open connection, and waits until it is gone.</summary>
    private async Task<int> TerminateAsync(AppDbContext db)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        Assert.Equal(System.Data.ConnectionState.Open, connection.State); // kept open by the context between queries
        int pid = connection.ProcessID;
        await using var admin = new NpgsqlConnection(postgres.Cluster.AdminConnectionString);
        await admin.OpenAsync(Cancellation);
        await using (var terminate = new NpgsqlCommand("SELECT pg_terminate_backend($1, 60000)", admin))
        {
            terminate.Parameters.Add(new NpgsqlParameter { Value = pid });
            Assert.True((bool)(await terminate.ExecuteScalarAsync(Cancellation))!);
        }

        return pid;
    }

    private async Task AllowConnectionsAsync(string database, bool allow)
    {
        await using var admin = new NpgsqlConnection(postgres.Cluster.AdminConnectionString);
        await admin.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand($"ALTER DATABASE {PgIdentifier.Quote(database)} ALLOW_CONNECTIONS {allow}", admin);
        await command.ExecuteNonQueryAsync(Cancellation);
    }
}

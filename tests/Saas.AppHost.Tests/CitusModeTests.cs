using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Npgsql;
using Postgres.Testing;

namespace Saas.AppHost.Tests;

/// <summary>
/// The whole app on a Citus cluster (<c>Postgres:Mode=citus</c>): the AppHost starts a coordinator and two workers from
/// the installed binaries, and the Worker, the Api and the tenants work on it as on one server, each tenant's schema on
/// a worker.
/// </summary>
public sealed class CitusModeTests(AppFixture fixture) : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"tenant-saas-citus-{Guid.NewGuid():N}");
    private DistributedApplication? _app;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        // From the installed binaries, never the image: where Citus is not installed, this says how to install it.
        CitusCluster.EnsureInstalled();
        using var timeout = new CancellationTokenSource(Eventually.AppStartCeiling);
        IDistributedApplicationTestingBuilder builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Saas_AppHost>(
            ["--Postgres:Mode=citus", "--Postgres:CitusFrom=local", $"--Postgres:DataDirectory={_dataDirectory}"],
            timeout.Token);
        _app = await builder.BuildAsync(timeout.Token);
        await _app.StartAsync(timeout.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("api", WaitBehavior.StopOnResourceUnavailable, timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_tenant_provisioned_through_the_api_is_served_from_a_worker_of_the_cluster_the_apphost_started()
    {
        using HttpClient admin = await fixture.ApiClientAsync(App, tenant: null, Cancellation);
        await admin.AddTenantAsync("initech", "Initech", Cancellation);

        using HttpClient member = await fixture.ApiClientAsync(App, "initech", Cancellation);
        using HttpResponseMessage session = await member.GetAsync("/tenant", Cancellation);
        Assert.True(session.StatusCode == HttpStatusCode.OK, await session.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal("initech", (await session.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("schema").GetString());

        // The seeded tenants and the new one are distributed schemas, each on a worker, none on the coordinator.
        await using var connection = new NpgsqlConnection(await App.GetConnectionStringAsync("citus", Cancellation));
        await connection.OpenAsync(Cancellation);
        await using var placement = new NpgsqlCommand(
            """
            SELECT ns.nspname::text, bool_and(pl.groupid <> 0)
            FROM pg_dist_schema s JOIN pg_namespace ns ON ns.oid = s.schemaid
            JOIN pg_dist_partition p ON p.colocationid = s.colocationid
            JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
            JOIN pg_dist_placement pl ON pl.shardid = sh.shardid
            GROUP BY 1 ORDER BY 1
            """,
            connection);
        var onWorkers = new Dictionary<string, bool>(StringComparer.Ordinal);
        await using (NpgsqlDataReader reader = await placement.ExecuteReaderAsync(Cancellation))
        {
            while (await reader.ReadAsync(Cancellation))
            {
                onWorkers.Add(reader.GetString(0), reader.GetBoolean(1));
            }
        }

        Assert.Equal(["acme", "globex", "initech"], onWorkers.Keys);
        Assert.All(onWorkers.Values, Assert.True);

        // The owner may read per-tenant activity, which the cluster tracks: the dashboard's Tenant status shows it.
        await using var owner = new NpgsqlConnection(await App.GetConnectionStringAsync("appdb-owner", Cancellation));
        await owner.OpenAsync(Cancellation);
        await using var activity = new NpgsqlCommand("SELECT count(*) FROM citus_stat_tenants WHERE query_count_in_this_period + query_count_in_last_period > 0", owner);
        Assert.True((long)(await activity.ExecuteScalarAsync(Cancellation))! > 0);
    }
}

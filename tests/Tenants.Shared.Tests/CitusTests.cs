using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Postgres.Testing;

namespace Tenants.Shared.Tests;

/// <summary>
/// The tenancy core on a real Citus cluster (a coordinator and two workers on loopback), with schema-based sharding on
/// for the app's database: each tenant's schema is a distributed schema, placed on one worker, and routed there by
/// the same search_path as on a single server.
/// </summary>
public sealed class CitusTests : IAsyncLifetime
{
    private CitusCluster? _cluster;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private CitusCluster Cluster => _cluster ?? throw new InvalidOperationException("Not initialised.");

    public async ValueTask InitializeAsync() => _cluster = await CitusCluster.StartAsync(Cancellation);

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task Tenants_migrated_on_a_citus_cluster_are_distributed_schemas_spread_over_both_workers_each_seeing_only_its_own_rows()
    {
        string database = await Cluster.CreateDatabaseAsync(Cancellation);
        await ExecuteAsync(database, $"ALTER DATABASE {new NpgsqlConnectionStringBuilder(database).Database} SET citus.enable_schema_based_sharding = on");
        await using var host = new TenancyHost(database);

        string[] tenants = [.. Enumerable.Range(1, 8).Select(i => $"citus_{i}")];
        foreach (string tenant in tenants)
        {
            await host.ProvisionWithANoteAsync(tenant);
        }

        // Each tenant's schema is distributed, on one worker; together they use both.
        Dictionary<string, int> placement = await PlacementAsync(database);
        Assert.Equal(tenants.Order(StringComparer.Ordinal), placement.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Cluster.Workers.Select(CitusCluster.PortOf).Order(), placement.Values.Distinct().Order());

        // Routed by search_path through the coordinator: each tenant reads its own note only.
        foreach (string tenant in tenants)
        {
            await using (await host.Tenants.EnterAsync(tenant, Cancellation))
            await using (AsyncServiceScope scope = host.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Equal([tenant], await db.Notes.Select(n => n.Body).ToListAsync(Cancellation));
            }
        }
    }

    /// <summary>Each distributed schema's worker port, from Citus's own catalog.</summary>
    private static async Task<Dictionary<string, int>> PlacementAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(
            "SELECT DISTINCT s.schema_name::text, sh.nodeport FROM citus_schemas s JOIN citus_shards sh ON sh.colocation_id = s.colocation_id",
            connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Cancellation);
        var placement = new Dictionary<string, int>(StringComparer.Ordinal);
        while (await reader.ReadAsync(Cancellation))
        {
            placement.Add(reader.GetString(0), reader.GetInt32(1));
        }

        return placement;
    }

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Cancellation);
    }
}

using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Catalog;

namespace Tenants.Shared.Placement;

/// <summary>
/// Where tenants' schemas live on a Citus cluster with schema-based sharding (each tenant's schema a distributed schema
/// on one node), and moving one to another node. Without Citus every tenant is on the one server: no placements.
/// </summary>
public sealed class TenantPlacement(OwnerDataSource owner, ITenantCatalog catalog, IOptions<TenancyOptions> options)
{
    // From Citus's catalog tables (in pg_catalog, whatever the search_path): a distributed schema's tables are
    // colocated, so all their shards are on one node.
    private const string PlacementSql = """
        SELECT DISTINCT ns.nspname::text, n.nodename, n.nodeport
        FROM pg_dist_schema s
        JOIN pg_namespace ns ON ns.oid = s.schemaid
        JOIN pg_dist_partition p ON p.colocationid = s.colocationid
        JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
        JOIN pg_dist_placement pl ON pl.shardid = sh.shardid
        JOIN pg_dist_node n ON n.groupid = pl.groupid
        """;

    /// <summary>Each distributed tenant schema's node; empty when the database has no Citus.</summary>
    public async Task<IReadOnlyDictionary<string, TenantNode>> NodesAsync(CancellationToken cancellationToken = default)
    {
        await using NpgsqlConnection connection = await owner.Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await NodesAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The Citus cluster the database is on (its workers, and whether new schemas are distributed); null without Citus.</summary>
    public async Task<CitusTopology?> ClusterAsync(CancellationToken cancellationToken = default)
    {
        await using NpgsqlConnection connection = await owner.Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (!await HasCitusAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        List<TenantNode> workers = await WorkersAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var sharding = new NpgsqlCommand("SELECT current_setting('citus.enable_schema_based_sharding')::boolean", connection);
        return new CitusTopology(workers, (bool)(await sharding.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
    }

    /// <summary>
    /// Each tenant's queries and CPU time on a Citus cluster that tracks them (<c>citus_stat_tenants</c>, with
    /// <c>citus.stat_tenants_track = 'all'</c>), busiest first; null without Citus or with tracking off.
    /// </summary>
    /// <exception cref="InvalidOperationException">The owner role may not read the statistics (it needs <c>pg_monitor</c>).</exception>
    public async Task<IReadOnlyList<TenantActivity>?> ActivityAsync(CancellationToken cancellationToken = default)
    {
        await using NpgsqlConnection connection = await owner.Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (!await HasCitusAsync(connection, cancellationToken).ConfigureAwait(false) || !await TracksTenantsAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        await using var command = new NpgsqlCommand(
            """
            SELECT ns.nspname::text, sum(t.query_count_in_this_period)::int, sum(t.query_count_in_last_period)::int,
                   sum(t.cpu_usage_in_this_period)::float8, sum(t.cpu_usage_in_last_period)::float8
            FROM citus_stat_tenants t
            JOIN pg_dist_schema s ON s.colocationid = t.colocation_id -- a distributed schema's statistics name no attribute
            JOIN pg_namespace ns ON ns.oid = s.schemaid
            GROUP BY 1
            ORDER BY sum(t.query_count_in_this_period) + sum(t.query_count_in_last_period) DESC, 1
            """,
            connection);
        try
        {
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var activity = new List<TenantActivity>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                activity.Add(new TenantActivity(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetDouble(3), reader.GetDouble(4)));
            }

            return activity;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new InvalidOperationException("Reading per-tenant activity (citus_stat_tenants) needs pg_monitor for the owner role: GRANT pg_monitor TO <owner role>.", e);
        }
    }

    /// <summary>
    /// Moves <paramref name="tenant"/>'s schema to <paramref name="to"/> (a node of the cluster) with Citus's
    /// <c>citus_schema_move</c>, writes blocked while its tables are copied: its requests are served throughout, its
    /// reads at once, its writes once the copy is done. Holds the tenant's schema lock, so no migration or deletion of
    /// the tenant runs meanwhile. A tenant already on that node is left where it is.
    /// </summary>
    /// <exception cref="InvalidTenantNameException">The name is not a valid tenant name.</exception>
    /// <exception cref="UnknownTenantException">No such tenant, or a deleted one.</exception>
    /// <exception cref="InvalidOperationException">No Citus, a schema not distributed, or <paramref name="to"/> not a node of the cluster.</exception>
    public async Task<TenantMove> MoveAsync(string tenant, TenantNode to, CancellationToken cancellationToken = default)
    {
        TenantNames.EnsureValid(tenant, options.Value.SharedSchema);
        ArgumentNullException.ThrowIfNull(to);
        var clock = Stopwatch.StartNew();
        await using NpgsqlConnection connection = await owner.Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using IAsyncDisposable held = await TenantSchemaLock.HoldAsync(connection, tenant, cancellationToken).ConfigureAwait(false);
        if (await catalog.FindAsync(tenant, cancellationToken).ConfigureAwait(false) is null or { Status: TenantStatus.Deleted })
        {
            throw new UnknownTenantException(tenant);
        }

        IReadOnlyDictionary<string, TenantNode> placement = await NodesAsync(connection, tenant, cancellationToken).ConfigureAwait(false);
        if (!placement.TryGetValue(tenant, out TenantNode? from))
        {
            throw new InvalidOperationException(await HasCitusAsync(connection, cancellationToken).ConfigureAwait(false)
                ? $"Tenant '{tenant}' has no distributed schema to move: it is not migrated yet, or was made before schema-based sharding was on (migrated again with sharding on, it is distributed)."
                : "This database has no Citus: every tenant is on its one server, and there is nowhere to move one to.");
        }

        if (from == to)
        {
            return new TenantMove(tenant, from, to, Moved: false, clock.Elapsed);
        }

        List<TenantNode> nodes = await WorkersAsync(connection, cancellationToken).ConfigureAwait(false);
        if (!nodes.Contains(to))
        {
            throw new InvalidOperationException($"{to} is not a node of this Citus cluster that holds tenants; its nodes: {string.Join(", ", nodes)}.");
        }

        // Writes wait for the copy rather than go on during it: with Citus's default mode (logical replication),
        // writes acknowledged while the move ran were missing after it, under load.
        await using (var move = new NpgsqlCommand("SELECT citus_schema_move($1::regnamespace, $2, $3, shard_transfer_mode => 'block_writes')", connection))
        {
            move.Parameters.Add(new NpgsqlParameter { Value = PgIdentifier.Quote(tenant) });
            move.Parameters.Add(new NpgsqlParameter { Value = to.Host });
            move.Parameters.Add(new NpgsqlParameter { Value = to.Port });
            move.CommandTimeout = 0; // as long as the copy takes
            await move.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return new TenantMove(tenant, from, to, Moved: true, clock.Elapsed);
    }

    /// <summary>
    /// Makes <paramref name="tenant"/>'s schema a distributed schema where the database has Citus with schema-based
    /// sharding on and the schema is not one yet (made before sharding was turned on: new schemas are distributed as
    /// they are created). Does nothing elsewhere. Run by the migrator, as the schema's owner, under its lock.
    /// </summary>
    internal static async Task DistributeAsync(NpgsqlConnection connection, string tenant, CancellationToken cancellationToken)
    {
        if (!await HasCitusAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await using var command = new NpgsqlCommand(
            """
            SELECT citus_schema_distribute(n.oid::regnamespace)
            FROM pg_namespace n
            WHERE n.nspname = $1
              AND current_setting('citus.enable_schema_based_sharding')::boolean
              AND NOT EXISTS (SELECT 1 FROM pg_dist_schema s WHERE s.schemaid = n.oid)
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyDictionary<string, TenantNode>> NodesAsync(NpgsqlConnection connection, string? tenant, CancellationToken cancellationToken)
    {
        var placement = new Dictionary<string, TenantNode>(StringComparer.Ordinal);
        if (!await HasCitusAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return placement;
        }

        await using var command = new NpgsqlCommand(tenant is null ? PlacementSql : $"{PlacementSql} WHERE ns.nspname = $1", connection);
        if (tenant is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        }

        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            placement[reader.GetString(0)] = new TenantNode(reader.GetString(1), reader.GetInt32(2));
        }

        return placement;
    }

    /// <summary>The active primary nodes that may hold distributed schemas.</summary>
    private static async Task<List<TenantNode>> WorkersAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE isactive AND noderole = 'primary' AND shouldhaveshards ORDER BY nodename, nodeport",
            connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var nodes = new List<TenantNode>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            nodes.Add(new TenantNode(reader.GetString(0), reader.GetInt32(1)));
        }

        return nodes;
    }

    private static async Task<bool> TracksTenantsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT current_setting('citus.stat_tenants_track') <> 'none'", connection);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static async Task<bool> HasCitusAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')", connection);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}

using System.Globalization;
using Npgsql;

namespace Postgres.Testing;

/// <summary>
/// A throwaway Citus cluster for a test run: a coordinator and <see cref="WorkerCount"/> workers, each a throwaway
/// PostgreSQL server on loopback with Citus preloaded. Citus distributes within one database, so each test's database
/// (<see cref="CreateDatabaseAsync"/>) is created on every node, with the extension in each and the workers registered
/// with the coordinator. Where Citus is not installed, starting one fails with how to install it, never skips.
/// </summary>
public sealed class CitusCluster : IAsyncDisposable
{
    /// <summary>Workers per cluster: tenants spread over more than one node.</summary>
    public const int WorkerCount = 2;

    // The coordinator reaches the workers through libpq inside its server. Loopback needs no TLS, and asking for none
    // keeps libpq from reading certificates in a home directory the server's user may not read. Per-tenant statistics
    // on, in periods no test outlasts.
    private static readonly string[] Settings =
        ["shared_preload_libraries=citus", "citus.node_conninfo=sslmode=disable", "citus.stat_tenants_track=all", "citus.stat_tenants_period=3600"];

    private CitusCluster(PostgresCluster coordinator, PostgresCluster[] workers) => (Coordinator, Workers) = (coordinator, workers);

    /// <summary>The node the app connects to.</summary>
    public PostgresCluster Coordinator { get; }

    public IReadOnlyList<PostgresCluster> Workers { get; }

    public static async Task<CitusCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        EnsureInstalled();
        PostgresCluster[] nodes = await Task.WhenAll(Enumerable.Range(0, WorkerCount + 1)
            .Select(_ => PostgresCluster.StartThrowawayAsync(Settings, cancellationToken))).ConfigureAwait(false);
        return new CitusCluster(nodes[0], nodes[1..]);
    }

    /// <summary>
    /// Creates a fresh database on every node, creates Citus in each and registers the workers with the coordinator;
    /// returns a superuser connection string to it on the coordinator (pooling on).
    /// </summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        string[] databases = await CreateOnEveryNodeAsync($"test_{Guid.NewGuid():N}", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(databases[0], $"SELECT citus_set_coordinator_host('127.0.0.1', {PortOf(Coordinator)})", cancellationToken).ConfigureAwait(false);
        foreach (PostgresCluster worker in Workers)
        {
            await ExecuteAsync(databases[0], $"SELECT citus_add_node('127.0.0.1', {PortOf(worker)})", cancellationToken).ConfigureAwait(false);
        }

        return databases[0];
    }

    /// <summary>
    /// Creates the database <paramref name="name"/> on every node with Citus in each, as a node's first start in Citus's
    /// image leaves it, and registers no node; returns superuser connection strings to it (pooling on), the
    /// coordinator's first.
    /// </summary>
    public async Task<string[]> CreateOnEveryNodeAsync(string name, CancellationToken cancellationToken = default)
    {
        string[] databases = await Task.WhenAll(((PostgresCluster[])[Coordinator, .. Workers])
            .Select(node => node.CreateDatabaseAsync(name, cancellationToken))).ConfigureAwait(false);
        foreach (string database in databases)
        {
            await ExecuteAsync(database, "CREATE EXTENSION citus", cancellationToken).ConfigureAwait(false);
        }

        return databases;
    }

    /// <summary>The loopback port of <paramref name="node"/>, as Citus names a node.</summary>
    public static int PortOf(PostgresCluster node) => new NpgsqlConnectionStringBuilder(node.AdminConnectionString).Port;

    public async ValueTask DisposeAsync()
    {
        foreach (PostgresCluster node in (PostgresCluster[])[Coordinator, .. Workers])
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fails with how to install Citus where the server binaries the tests start lack it.</summary>
    public static void EnsureInstalled()
    {
        string bin = PostgresCluster.FindPostgresBin();
        string library = Path.Combine(Path.GetDirectoryName(bin)!, "lib", "citus.so");
        if (!File.Exists(library))
        {
            string version = Path.GetFileName(Path.GetDirectoryName(bin)!);
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Citus is not installed for the PostgreSQL {version} server the tests start ({library} is missing): install Citus for PostgreSQL {version} (Citus's packages, https://docs.citusdata.com/en/stable/installation/), or set PG_BIN to a PostgreSQL whose lib folder has it."));
        }
    }
}

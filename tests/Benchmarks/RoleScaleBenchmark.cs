using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Postgres.Testing;

namespace Benchmarks;

/// <summary>
/// P4's attribution at the PostgreSQL level, without the Api: what one routed request costs the server with 10
/// tenants and with N, by how the shared schema is granted. Each side is the statement sequence the shipped routing
/// sends on a pooled connection (search_path and role batched with the query, then Npgsql's pool reset) from a data
/// source of its own, over 10 tenants spread across its catalog, so the sides differ only in what is registered.
/// One database holds the N tenants (NOLOGIN NOINHERIT roles, the app role a member of each, as migrations leave
/// them) and two shared schemas, one granted to each tenant role (before 363feb4) and one to PUBLIC (shipped).
/// The last sides spread the traffic over M of the N tenants, as P4's large side does, with the shipped statements
/// and with none at all (schema-qualified names): the latter pair is what spreading costs PostgreSQL itself,
/// whatever routes the request.
/// </summary>
internal static class RoleScaleBenchmark
{
    private const int Small = 10;

    private enum Routing
    {
        RoleSwitch,
        SearchPathOnly,
        None,
    }

    public static async Task RunAsync(int large, int spread, int seconds, int rounds)
    {
        await using PostgresCluster cluster = await PostgresCluster.StartAsync();
        Console.WriteLine($"PostgreSQL: throwaway cluster (fsync off); {Environment.ProcessorCount} cores; {Small} vs {large} tenant roles; traffic over {Small} tenants per side, over {spread} where named");
        string small = await ProvisionAsync(cluster, "s", Small);
        string big = await ProvisionAsync(cluster, "l", large);

        // Paid once per physical connection, outside the steady state the sides below measure.
        double smallFirst = await FirstSwitchMsAsync(small, "s"), largeFirst = await FirstSwitchMsAsync(big, "l");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"first role switch on a new connection (median of 5): {Small} tenants {smallFirst:F1} ms, {large} tenants {largeFirst:F1} ms"));

        (string, Func<Task>)[] sides =
        [
            ($"{Small} tenants, role switch (baseline)", Request(small, "s", Small, Small, "shared_public", Routing.RoleSwitch)),
            ($"{large}: shared granted to each role", Request(big, "l", large, Small, "shared_each", Routing.RoleSwitch)),
            ($"{large}: shared granted to PUBLIC (shipped)", Request(big, "l", large, Small, "shared_public", Routing.RoleSwitch)),
            ($"{Small} tenants, no role switch", Request(small, "s", Small, Small, "shared_public", Routing.SearchPathOnly)),
            ($"{large}: PUBLIC, no role switch", Request(big, "l", large, Small, "shared_public", Routing.SearchPathOnly)),
            ($"{large}: shipped, traffic over {spread}", Request(big, "l", large, spread, "shared_public", Routing.RoleSwitch)),
            ($"{Small} tenants, no routing (floor)", Request(small, "s", Small, Small, "shared_public", Routing.None)),
            ($"{large}: no routing, over {spread} (floor)", Request(big, "l", large, spread, "shared_public", Routing.None)),
        ];
        const int Shipped = 2, ShippedSpread = 5, Floor = 6, FloorSpread = 7; // spread vs unspread, per round

        await SideBySide.RunAsync(sides, concurrency: 16, TimeSpan.FromSeconds(seconds), rounds, warmUp: TimeSpan.FromSeconds(5),
            pairs: [(ShippedSpread, Shipped), (FloorSpread, Floor)]);
    }

    private static async Task<string> ProvisionAsync(PostgresCluster cluster, string prefix, int tenants)
    {
        var clock = Stopwatch.StartNew();
        string owner = await cluster.CreateDatabaseAsync();
        string app = $"app_roles_{prefix}";
        await ExecuteAsync(owner, $"""
            CREATE ROLE {app} LOGIN NOSUPERUSER NOINHERIT;
            CREATE SCHEMA shared_each;
            CREATE SCHEMA shared_public;
            GRANT USAGE ON SCHEMA shared_each, shared_public TO {app};
            GRANT USAGE ON SCHEMA shared_public TO PUBLIC;
            """);

        // What a migration and its grants leave per tenant (TenantPrivileges), in batches of 500 per transaction.
        for (int first = 0; first < tenants; first += 500)
        {
            await ExecuteAsync(owner, $$"""
                DO $do$ BEGIN
                    FOR i IN {{first}}..{{Math.Min(first + 500, tenants) - 1}} LOOP
                        EXECUTE format('CREATE SCHEMA %1$I; CREATE TABLE %1$I.articles (id serial PRIMARY KEY, title text NOT NULL, body text NOT NULL)', '{{prefix}}_' || i);
                        EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', 'r_{{prefix}}_' || i);
                        EXECUTE format('GRANT USAGE ON SCHEMA %1$I TO %2$I, {{app}}; GRANT SELECT ON ALL TABLES IN SCHEMA %1$I TO %2$I, {{app}}', '{{prefix}}_' || i, 'r_{{prefix}}_' || i);
                        EXECUTE format('GRANT USAGE ON SCHEMA shared_each TO %I', 'r_{{prefix}}_' || i);
                        EXECUTE format('GRANT %I TO {{app}}', 'r_{{prefix}}_' || i);
                        EXECUTE format('INSERT INTO %I.articles (title, body) SELECT ''article '' || g, repeat(''x'', 200) FROM generate_series(1, 5) g', '{{prefix}}_' || i);
                    END LOOP;
                END $do$;
                """);
        }

        await ExecuteAsync(owner, "VACUUM ANALYZE");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{tenants} tenants with roles provisioned in {clock.Elapsed.TotalSeconds:F0} s"));
        return new NpgsqlConnectionStringBuilder(owner) { Username = app, MaxPoolSize = 16 }.ConnectionString;
    }

    /// <summary>
    /// The first SET ROLE of a session: PostgreSQL 15 then lists every role the login role is a member of (cached for
    /// the session), in time that grows with the square of the count.
    /// </summary>
    private static async Task<double> FirstSwitchMsAsync(string connectionString, string prefix)
    {
        var times = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"SET ROLE r_{prefix}_0", connection);
            long started = Stopwatch.GetTimestamp();
            await command.ExecuteNonQueryAsync();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return times.Order().ElementAt(times.Count / 2);
    }

    /// <summary>
    /// One request's statements over <paramref name="trafficked"/> tenants spread evenly across the database's:
    /// routing batched with the query, then the pool reset when it closes. Without routing the query names the
    /// tenant's table in full, which is as little as PostgreSQL can be asked to do for a tenant.
    /// </summary>
    private static Func<Task> Request(string connectionString, string prefix, int tenants, int trafficked, string sharedSchema, Routing routing)
    {
        NpgsqlDataSource source = NpgsqlDataSource.Create(connectionString); // lives as long as the benchmark
        int stride = tenants / trafficked;
        return async () =>
        {
            string schema = $"{prefix}_{Random.Shared.Next(trafficked) * stride}";
            string sql = routing switch
            {
                Routing.RoleSwitch => $"SET search_path TO {schema}, {sharedSchema}; SET ROLE r_{schema}; ",
                Routing.SearchPathOnly => $"SET search_path TO {schema}, {sharedSchema}; ",
                _ => string.Empty,
            } + $"SELECT id, title, body FROM {(routing == Routing.None ? schema + "." : string.Empty)}articles ORDER BY id LIMIT 20";
            await using NpgsqlConnection connection = await source.OpenConnectionAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
            do
            {
                while (await reader.ReadAsync())
                {
                }
            }
            while (await reader.NextResultAsync());
        };
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync();
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Postgres.Testing;
using Tenants.Shared.Migrations;
using Tenants.Shared.Offboarding;
using Tenants.Shared.Placement;
using Tenants.Shared.Security;

namespace Tenants.Shared.Tests;

/// <summary>
/// The tenancy core on a real Citus cluster (a coordinator and two workers on loopback), with schema-based sharding on
/// for each test's database: each tenant's schema is a distributed schema, placed on one worker, and routed there by
/// the same search_path as on a single server.
/// </summary>
public sealed class CitusTests(CitusFixture citus) : IClassFixture<CitusFixture>
{
    private static readonly string[] Phases = ["before", "during", "after"];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Tenants_migrated_on_a_citus_cluster_are_distributed_schemas_spread_over_both_workers_each_seeing_only_its_own_rows()
    {
        string database = await ShardedDatabaseAsync();
        await using var host = new TenancyHost(database);

        string[] tenants = [.. Enumerable.Range(1, 8).Select(i => $"citus_{i}")];
        foreach (string tenant in tenants)
        {
            await host.ProvisionWithANoteAsync(tenant);
        }

        // Each tenant's schema is distributed, on one worker; together they use both.
        Dictionary<string, int> placement = await PlacementAsync(database);
        Assert.Equal(tenants.Order(StringComparer.Ordinal), placement.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(WorkerPorts, placement.Values.Distinct().Order());

        // Routed by search_path through the coordinator: each tenant reads its own note only.
        foreach (string tenant in tenants)
        {
            Assert.Equal([tenant], await NotesSeenAsync(host, tenant));
        }
    }

    [Fact]
    public async Task A_tenant_made_before_schema_based_sharding_was_on_is_distributed_at_its_next_migration_rows_and_all()
    {
        string database = await citus.Cluster.CreateDatabaseAsync(Cancellation); // sharding off: schemas stay on the coordinator
        await using (var before = new TenancyHost(database))
        {
            await before.ProvisionWithANoteAsync("early");
            Assert.False((await before.Services.GetRequiredService<TenantPlacement>().ClusterAsync(Cancellation))!.SchemaSharding);
        }

        Assert.Empty(await PlacementAsync(database));
        await Sql.ExecuteAsync(database, $"ALTER DATABASE {new NpgsqlConnectionStringBuilder(database).Database} SET citus.enable_schema_based_sharding = on", Cancellation);

        await using var host = new TenancyHost(database); // new sessions, which see the setting
        CitusTopology cluster = (await host.Services.GetRequiredService<TenantPlacement>().ClusterAsync(Cancellation))!;
        Assert.Equal(Workers.OrderBy(w => w.Port), cluster.Workers.OrderBy(w => w.Port));
        Assert.True(cluster.SchemaSharding);
        await host.Migrator.MigrateAsync("early", Cancellation);
        Assert.Contains(Assert.Single(await PlacementAsync(database)) is { Key: "early" } p ? p.Value : 0, WorkerPorts);
        Assert.Equal(["early"], await NotesSeenAsync(host, "early"));
    }

    [Fact]
    public async Task Each_tenants_queries_are_counted_for_it_busiest_first()
    {
        string database = await ShardedDatabaseAsync();
        await using var host = new TenancyHost(database);
        foreach (string tenant in (string[])["loud", "quiet", "idle"])
        {
            await host.ProvisionAsync(tenant);
        }

        var placement = host.Services.GetRequiredService<TenantPlacement>();
        Dictionary<string, int> before = Queries((await placement.ActivityAsync(Cancellation))!); // the migrations' own
        foreach ((string tenant, int count) in (ValueTuple<string, int>[])[("quiet", 5), ("loud", 30)])
        {
            for (int i = 0; i < count; i++)
            {
                await using (await host.Tenants.EnterAsync(tenant, Cancellation))
                await using (AsyncServiceScope scope = host.CreateScope())
                {
                    await scope.ServiceProvider.GetRequiredService<NotesContext>().Notes.CountAsync(Cancellation);
                }
            }
        }

        IReadOnlyList<TenantActivity> activity = (await placement.ActivityAsync(Cancellation))!;
        Dictionary<string, int> queries = Queries(activity).ToDictionary(q => q.Key, q => q.Value - before.GetValueOrDefault(q.Key));
        Assert.Equal(activity.OrderByDescending(a => a.Queries + a.QueriesLastPeriod).Select(a => a.Tenant), activity.Select(a => a.Tenant)); // busiest first
        Assert.Equal(30, queries["loud"]);
        Assert.Equal(5, queries["quiet"]);
        Assert.Equal(0, queries.GetValueOrDefault("idle"));

        static Dictionary<string, int> Queries(IReadOnlyList<TenantActivity> activity) =>
            activity.ToDictionary(a => a.Tenant, a => a.Queries + a.QueriesLastPeriod, StringComparer.Ordinal);
    }

    [Fact]
    public async Task An_owner_without_pg_monitor_is_told_what_reading_activity_needs()
    {
        string database = await ShardedDatabaseAsync();
        string role = $"own_{Guid.NewGuid():N}"[..16];
        await Sql.ExecuteAsync(database, $"CREATE ROLE {role} LOGIN", Cancellation); // made where Citus sees it: on every node
        var owner = new NpgsqlConnectionStringBuilder(database) { Username = role };
        await using var host = new TenancyHost(database, ownerConnectionString: owner.ConnectionString);

        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(() => host.Services.GetRequiredService<TenantPlacement>().ActivityAsync(Cancellation));
        Assert.Contains("GRANT pg_monitor", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hundred_tenants_migrated_by_the_runner_are_spread_over_both_workers_each_migrated_once()
    {
        string database = await ShardedDatabaseAsync();
        await using var host = new TenancyHost(database);
        string[] tenants = [.. Enumerable.Range(0, 100).Select(i => $"many_{i:D3}")];
        foreach (string tenant in tenants)
        {
            await host.Registry.RegisterAsync(tenant, Cancellation);
        }

        MigrationRunReport first = await host.Runner.RunAsync(cancellationToken: Cancellation);
        Assert.Equal((100, 0), (first.Migrated, first.Failed));

        Dictionary<string, int> placement = await PlacementAsync(database);
        Assert.Equal(tenants, placement.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(WorkerPorts, placement.Values.Distinct().Order());

        // Each history, read through the coordinator from its worker, has every migration once.
        int migrations = first.Outcomes.Max(o => o.AppliedCount);
        Assert.True(migrations > 0);
        Assert.All(first.Outcomes, o => Assert.Equal(migrations, o.AppliedCount));
        foreach (string tenant in tenants)
        {
            Assert.Equal(migrations, await Sql.ScalarAsync<long>(database, $"SELECT count(DISTINCT \"MigrationId\") FROM {tenant}.\"__EFMigrationsHistory\"", Cancellation));
        }

        MigrationRunReport second = await host.Runner.RunAsync(cancellationToken: Cancellation);
        Assert.Empty(second.Outcomes);
    }

    [Fact]
    public async Task A_thousand_concurrent_requests_over_twenty_tenants_on_both_workers_see_and_write_only_their_own_rows()
    {
        string database = await ShardedDatabaseAsync();
        await using var host = new TenancyHost(database, o => (o.TenantRoles, o.TenantRolePrefix) = (true, NewRolePrefix())); // as shipped
        string[] tenants = [.. Enumerable.Range(0, 20).Select(i => $"busy_{i:D2}")];
        foreach (string tenant in tenants)
        {
            await host.Registry.RegisterAsync(tenant, Cancellation);
        }

        Assert.Equal(0, (await host.Runner.RunAsync(cancellationToken: Cancellation)).Failed);
        Assert.Equal(WorkerPorts, (await PlacementAsync(database)).Values.Distinct().Order());

        // Each request writes a note of its tenant's and reads every note it can see: only its tenant's, ever.
        var foreign = new List<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Cancellation }, async (i, ct) =>
        {
            string tenant = tenants[i % tenants.Length];
            await using (await host.Tenants.EnterAsync(tenant, ct))
            await using (AsyncServiceScope scope = host.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                db.Notes.Add(new Note { Tenant = tenant, Body = $"request {i}" });
                await db.SaveChangesAsync(ct);
                List<string> seen = await db.Notes.AsNoTracking().Select(n => n.Tenant).ToListAsync(ct);
                lock (foreign)
                {
                    foreign.AddRange(seen.Where(t => t != tenant).Select(t => $"{tenant} saw {t}"));
                }
            }
        });

        Assert.Empty(foreign);
        foreach (string tenant in tenants)
        {
            Assert.Equal((50, 0), await host.CountRowsAsync(tenant));
        }
    }

    [Fact]
    public async Task With_tenant_roles_each_tenant_reads_its_own_rows_on_its_worker_and_is_refused_another_tenants_schema()
    {
        string database = await ShardedDatabaseAsync();
        string prefix = NewRolePrefix();
        await using var host = new TenancyHost(database, o => (o.TenantRoles, o.TenantRolePrefix) = (true, prefix));
        string[] tenants = [.. Enumerable.Range(0, 6).Select(i => $"role_{i}")];
        foreach (string tenant in tenants)
        {
            await host.ProvisionWithANoteAsync(tenant);
        }

        Assert.Equal(WorkerPorts, (await PlacementAsync(database)).Values.Distinct().Order());
        foreach (string tenant in tenants)
        {
            await using (await host.Tenants.EnterAsync(tenant, Cancellation))
            await using (AsyncServiceScope scope = host.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Equal([tenant], await db.Notes.Select(n => n.Body).ToListAsync(Cancellation));
                string other = tenants[(Array.IndexOf(tenants, tenant) + 1) % tenants.Length];
                string foreign = $"SELECT \"Body\" AS \"Value\" FROM {other}.notes";
                PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => db.Database.SqlQueryRaw<string>(foreign).ToListAsync(Cancellation));
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
            }
        }

        // A role made before the database had Citus could not log in: its tenant's next migration lets it.
        string role = TenantRoleNames.NameFor("role_0", prefix);
        await Sql.ExecuteAsync(database, $"ALTER ROLE {role} NOLOGIN", Cancellation);
        await host.Migrator.MigrateAsync("role_0", Cancellation);
        Assert.True(await Sql.ScalarAsync<bool>(database, $"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'", Cancellation));
        Assert.Equal(["role_0"], await NotesSeenAsync(host, "role_0"));
    }

    [Fact]
    public async Task A_tenant_moved_to_the_other_worker_under_load_serves_every_request_during_and_after_the_move()
    {
        string database = await ShardedDatabaseAsync();
        await using var host = new TenancyHost(database, o => (o.TenantRoles, o.TenantRolePrefix) = (true, NewRolePrefix()));
        string[] tenants = ["mover", "neighbour"];
        foreach (string tenant in tenants)
        {
            await host.ProvisionAsync(tenant);
        }

        var placement = host.Services.GetRequiredService<TenantPlacement>();
        TenantNode from = (await placement.NodesAsync(Cancellation))["mover"];
        TenantNode to = Workers.Single(w => w != from);

        // Requests on both tenants, each writing a note and reading what it sees, from before the move until after it.
        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var served = new Dictionary<string, int>(StringComparer.Ordinal) { ["mover"] = 0, ["neighbour"] = 0 };
        var written = new List<(string Tenant, string Body, string Phase)>();
        int duringMove = 0;
        int phase = 0; // 0 before the move, 1 during it, 2 after
        Task[] load = [.. Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string tenant = tenants[(worker + i) % tenants.Length];
                try
                {
                    await using (await host.Tenants.EnterAsync(tenant, Cancellation))
                    await using (AsyncServiceScope scope = host.CreateScope())
                    {
                        NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                        db.Notes.Add(new Note { Tenant = tenant, Body = $"{worker}/{i}" });
                        await db.SaveChangesAsync(Cancellation);
                        List<string> seen = await db.Notes.AsNoTracking().Select(n => n.Tenant).Distinct().ToListAsync(Cancellation);
                        lock (failures)
                        {
                            served[tenant]++;
                            int now = Volatile.Read(ref phase);
                            duringMove += now == 1 ? 1 : 0;
                            written.Add((tenant, $"{worker}/{i}", Phases[now]));
                            failures.AddRange(seen.Where(t => t != tenant).Select(t => $"{tenant} saw {t}"));
                        }
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    lock (failures)
                    {
                        failures.Add($"{tenant}: {e.GetBaseException().Message}");
                    }
                }
            }
        }, Cancellation))];

        int Served(string tenant)
        {
            lock (failures)
            {
                return served[tenant];
            }
        }

        await Eventually.UntilAsync(() => Task.FromResult(Served("mover") > 20), "requests before the move", Cancellation);
        Volatile.Write(ref phase, 1);
        TenantMove move = await placement.MoveAsync("mover", to, Cancellation);
        Volatile.Write(ref phase, 2);
        int before = Served("mover");
        await Eventually.UntilAsync(() => Task.FromResult(Served("mover") > before + 20), "requests after the move", Cancellation);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.Equal((true, from, to), (move.Moved, move.From, move.To));
        Assert.Equal(to, (await placement.NodesAsync(Cancellation))["mover"]);
        Assert.Empty(failures);
        Assert.True(duringMove > 0, "no request was served while the tenant moved");
        foreach (string tenant in tenants)
        {
            // Every acknowledged write is there, whenever it was made.
            HashSet<string> kept = [.. await BodiesAsync(database, tenant)];
            string[] lost = [.. written.Where(w => w.Tenant == tenant && !kept.Contains(w.Body)).GroupBy(w => w.Phase).Select(g => $"{g.Count()} {g.Key}")];
            Assert.True(lost.Length == 0, $"{tenant}: acknowledged writes lost, by when they were acknowledged: {string.Join(", ", lost)}");
            Assert.Equal((served[tenant], 0), await host.CountRowsAsync(tenant));
        }

        // Asked again, it stays; a node outside the cluster, an unknown tenant and a bad name are refused, naming why.
        Assert.False((await placement.MoveAsync("mover", to, Cancellation)).Moved);
        InvalidOperationException nowhere = await Assert.ThrowsAsync<InvalidOperationException>(() => placement.MoveAsync("mover", new TenantNode("127.0.0.1", 1), Cancellation));
        Assert.Contains(to.ToString(), nowhere.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<UnknownTenantException>(() => placement.MoveAsync("ghost", to, Cancellation));
        await Assert.ThrowsAsync<InvalidTenantNameException>(() => placement.MoveAsync("Mover; DROP", to, Cancellation));
    }

    [Fact]
    public async Task Offboarding_archives_one_distributed_schema_with_its_rows_and_drops_another_leaving_no_shard()
    {
        string database = await ShardedDatabaseAsync();
        await using var host = new TenancyHost(database, o => (o.TenantRoles, o.TenantRolePrefix) = (true, NewRolePrefix()));
        foreach (string tenant in (string[])["kept", "gone", "stays"])
        {
            await host.ProvisionWithANoteAsync(tenant);
        }

        var offboarding = host.Services.GetRequiredService<TenantOffboarding>();
        await offboarding.DeactivateAsync("kept", Cancellation);
        await offboarding.DeactivateAsync("gone", Cancellation);
        TenantDeletion archived = await offboarding.DeleteAsync("kept", SchemaDisposal.Archive, releaseName: false, Cancellation);
        TenantDeletion dropped = await offboarding.DeleteAsync("gone", SchemaDisposal.Drop, releaseName: false, Cancellation);

        // The archive keeps the tenant's rows, still on a worker; the dropped tenant leaves no schema and no shard.
        Assert.Equal("kept", await Sql.ScalarAsync<string>(database, $"SELECT \"Body\" FROM {PgIdentifier.Quote(archived.ArchivedAs!)}.notes", Cancellation));
        Dictionary<string, int> placement = await PlacementAsync(database);
        Assert.Equal([archived.ArchivedAs!, "stays"], placement.Keys.Order(StringComparer.Ordinal));
        Assert.Null(dropped.ArchivedAs);
        Assert.DoesNotContain("gone", await host.SchemasAsync());
        Assert.DoesNotContain("kept", await host.SchemasAsync());

        // The tenant left standing is served as before.
        Assert.Equal(["stays"], await NotesSeenAsync(host, "stays"));
    }

    /// <summary>Roles are cluster-wide: each test's tenant roles get a prefix of their own.</summary>
    private static string NewRolePrefix() => $"t{Guid.NewGuid():N}"[..9] + "_";

    private int[] WorkerPorts => [.. citus.Cluster.Workers.Select(CitusCluster.PortOf).Order()];

    private TenantNode[] Workers => [.. citus.Cluster.Workers.Select(w => new TenantNode("127.0.0.1", CitusCluster.PortOf(w)))];

    /// <summary>A fresh database on every node, with schema-based sharding on for it: each new schema is distributed.</summary>
    private async Task<string> ShardedDatabaseAsync()
    {
        string database = await citus.Cluster.CreateDatabaseAsync(Cancellation);
        await Sql.ExecuteAsync(database, $"ALTER DATABASE {new NpgsqlConnectionStringBuilder(database).Database} SET citus.enable_schema_based_sharding = on", Cancellation);
        return database;
    }

    /// <summary>The bodies of the notes a request of <paramref name="tenant"/> reads, routed through the coordinator.</summary>
    private static async Task<List<string>> NotesSeenAsync(TenancyHost host, string tenant)
    {
        await using (await host.Tenants.EnterAsync(tenant, Cancellation))
        await using (AsyncServiceScope scope = host.CreateScope())
        {
            return await scope.ServiceProvider.GetRequiredService<NotesContext>().Notes.Select(n => n.Body).ToListAsync(Cancellation);
        }
    }

    /// <summary>Each distributed schema's worker port, from Citus's own catalog.</summary>
    private static async Task<Dictionary<string, int>> PlacementAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(
            "SELECT DISTINCT n.nspname::text, sh.nodeport FROM citus_schemas s JOIN pg_namespace n ON n.oid = s.schema_name JOIN citus_shards sh ON sh.colocation_id = s.colocation_id",
            connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Cancellation);
        var placement = new Dictionary<string, int>(StringComparer.Ordinal);
        while (await reader.ReadAsync(Cancellation))
        {
            placement.Add(reader.GetString(0), reader.GetInt32(1));
        }

        return placement;
    }

    private static Task<List<string>> BodiesAsync(string database, string tenant) =>
        Sql.ColumnAsync<string>(database, $"SELECT \"Body\" FROM {PgIdentifier.Quote(tenant)}.notes", Cancellation);
}

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Tenants.Shared.Tests;

public sealed class MigratorTests(PostgresFixture postgres) : DatabaseTest(postgres)
{
    [Fact]
    public async Task A_tenant_is_migrated_into_its_own_schema_with_its_own_history_and_nothing_lands_elsewhere()
    {
        await Host.Registry.RegisterAsync("mig_a", Cancellation);
        var first = await Host.Migrator.MigrateAsync("mig_a", Cancellation);
        Assert.NotEmpty(first.Applied);
        Assert.Equal(first.Applied[^1], first.LastMigration);

        var second = await Host.Migrator.MigrateAsync("mig_a", Cancellation);
        Assert.Empty(second.Applied);

        // Every relation the migration made is in the tenant's schema: none in public, none beside the catalog's tables in shared.
        Assert.Equal(
            ["mig_a.__EFMigrationsHistory", "mig_a.notes"],
            await RelationsAsync("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('mig_a', 'public', 'shared') AND c.relname NOT IN ('tenants', 'tenant_requests') ORDER BY 1"));

        TenantRecord record = (await Host.Catalog.FindAsync("mig_a", Cancellation))!;
        Assert.Equal(MigrationState.Ready, record.State);
        Assert.Equal(first.LastMigration, record.LastMigration);
        Assert.Null(record.LastError);
    }

    [Fact]
    public async Task Concurrent_migrators_on_one_fresh_tenant_apply_each_migration_exactly_once()
    {
        await Host.Registry.RegisterAsync("mig_race", Cancellation);
        TenancyHost[] processes = [.. Enumerable.Range(0, 6).Select(_ => new TenancyHost(ConnectionString))];
        try
        {
            var results = await Task.WhenAll(processes.Select(p => Task.Run(() => p.Migrator.MigrateAsync("mig_race", Cancellation), Cancellation)));
            Assert.Single(results, r => r.Applied.Count > 0); // the first to take the lock applied; the rest found nothing pending
            Assert.Equal(
                results.Single(r => r.Applied.Count > 0).Applied.Count,
                Assert.Single(await RelationsAsync("SELECT count(*)::text FROM mig_race.\"__EFMigrationsHistory\"")) is { } n ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : -1);
        }
        finally
        {
            foreach (TenancyHost p in processes)
            {
                await p.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_broken_tenant_is_recorded_failed_with_its_error_and_others_still_migrate()
    {
        await Host.Registry.RegisterAsync("mig_broken", Cancellation);
        await Host.Registry.RegisterAsync("mig_fine", Cancellation);
        // The tenant's own schema (marked as the migrator marks it), with a table in the way of its migration.
        await using (NpgsqlCommand sabotage = Host.DataSource.Unrouted.CreateCommand(
            $"CREATE SCHEMA mig_broken; COMMENT ON SCHEMA mig_broken IS {Security.TenantSchemas.Mark("mig_broken")}; CREATE TABLE mig_broken.notes (x int)"))
        {
            await sabotage.ExecuteNonQueryAsync(Cancellation);
        }

        var failure = await Assert.ThrowsAsync<PostgresException>(() => Host.Migrator.MigrateAsync("mig_broken", Cancellation));
        Assert.Equal(PostgresErrorCodes.DuplicateTable, failure.SqlState);
        await Host.Migrator.MigrateAsync("mig_fine", Cancellation);

        TenantRecord broken = (await Host.Catalog.FindAsync("mig_broken", Cancellation))!;
        Assert.Equal(MigrationState.Failed, broken.State);
        Assert.Equal(1, broken.Attempts);
        Assert.Contains("already exists", broken.LastError, StringComparison.Ordinal);
        Assert.Equal(MigrationState.Ready, (await Host.Catalog.FindAsync("mig_fine", Cancellation))!.State);

        // The lock was released on failure: a second attempt is not blocked, and fails the same way.
        await Assert.ThrowsAsync<PostgresException>(() => Host.Migrator.MigrateAsync("mig_broken", Cancellation));
        Assert.Equal(2, (await Host.Catalog.FindAsync("mig_broken", Cancellation))!.Attempts);
    }

    [Fact]
    public async Task An_unregistered_tenant_is_not_migrated_and_no_schema_is_left_behind()
    {
        await Assert.ThrowsAsync<UnknownTenantException>(() => Host.Migrator.MigrateAsync("mig_ghost", Cancellation));
        Assert.Null(await Host.Catalog.FindAsync("mig_ghost", Cancellation));
        Assert.DoesNotContain("mig_ghost", await Host.SchemasAsync());
    }

    [Fact]
    public async Task A_pooled_app_context_migrates_each_tenant_it_is_leased_in_against_that_tenants_own_history()
    {
        // The app's pool hands the same context object to every lease below, as it does to consecutive requests.
        string[] tenants = ["mig_p1", "mig_p2", "mig_p3"];
        NotesContext? previous = null;
        string[] all = [];
        foreach (string tenant in tenants)
        {
            await Host.Registry.RegisterAsync(tenant, Cancellation);
            await using (await Host.Tenants.EnterAsync(tenant, Cancellation))
            await using (AsyncServiceScope scope = Host.CreateScope())
            {
                NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
                Assert.Same(previous ?? db, db);
                previous = db;
                all = [.. db.Database.GetMigrations()];
                Assert.NotEmpty(await db.Database.GetPendingMigrationsAsync(Cancellation));
                await db.Database.MigrateAsync(Cancellation);
                Assert.Empty(await db.Database.GetPendingMigrationsAsync(Cancellation));
            }
        }

        foreach (string tenant in tenants)
        {
            Assert.Equal(all, await RelationsAsync($"SELECT \"MigrationId\" FROM {tenant}.\"__EFMigrationsHistory\" ORDER BY 1"));
            Assert.Equal(["notes"], await RelationsAsync($"SELECT relname::text FROM pg_class WHERE relnamespace = '{tenant}'::regnamespace AND relkind = 'r' AND relname <> '__EFMigrationsHistory'"));
        }
    }

    private async Task<List<string>> RelationsAsync(string sql)
    {
        await using NpgsqlCommand command = Host.DataSource.Unrouted.CreateCommand(sql);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Cancellation);
        var rows = new List<string>();
        while (await reader.ReadAsync(Cancellation))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}

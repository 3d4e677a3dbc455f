using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tenants.Shared.Migrations;

namespace Tenants.Shared.Tests;

/// <summary>The app's own login, the owner migrating and granting, and each tenant scope in the tenant's role.</summary>
public sealed class LeastPrivilegeTests(PostgresFixture postgres) : LeastPrivilegedAppTest(postgres, "lp_a", "lp_b")
{
    // A pool of one: whatever a scope leaves on the session would reach the next open.
    protected override void ConfigureAppConnection(NpgsqlConnectionStringBuilder connection) => connection.MaxPoolSize = 1;

    [Fact]
    public async Task The_owner_that_provisioned_the_tenants_owns_the_database_and_creates_roles_but_is_not_a_superuser()
    {
        await using NpgsqlConnection owner = await App.Services.GetRequiredService<OwnerDataSource>().Source.OpenConnectionAsync(Cancellation);
        Assert.Equal(OwnerRole, await ScalarAsync<string>(owner, "SELECT current_user"));
        Assert.Equal((bool[])[false, true], await ScalarAsync<bool[]>(owner, "SELECT ARRAY[rolsuper, rolcreaterole] FROM pg_roles WHERE rolname = current_user"));
        Assert.Equal(OwnerRole, await ScalarAsync<string>(owner, "SELECT datdba::regrole::text FROM pg_database WHERE datname = current_database()"));
        Assert.Equal([OwnerRole], await ScalarAsync<string[]>(owner, "SELECT array_agg(DISTINCT nspowner::regrole::text) FROM pg_namespace WHERE nspname IN ('shared', 'lp_a', 'lp_b')"));
    }

    [Fact]
    public async Task Inside_a_scope_even_a_query_qualified_with_another_tenants_schema_is_refused()
    {
        await using (App.Tenants.Enter("lp_a"))
        {
            await using NpgsqlConnection connection = await App.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal($"{Prefix}lp_a", await ScalarAsync<string>(connection, "SELECT current_user"));
            Assert.Equal(0L, await ScalarAsync<long>(connection, "SELECT count(*) FROM notes"));
            Assert.Equal(0L, await ScalarAsync<long>(connection, "SELECT count(*) FROM lp_a.notes"));

            PostgresException foreign = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<long>(connection, "SELECT count(*) FROM lp_b.notes"));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, foreign.SqlState);

            // The migration history is the owner's alone, even in the tenant's own schema.
            PostgresException history = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<long>(connection, "SELECT count(*) FROM \"__EFMigrationsHistory\""));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, history.SqlState);
        }
    }

    [Fact]
    public async Task The_app_role_writes_through_EF_inside_its_scope_and_reaches_no_tenant_outside_one()
    {
        await using (App.Tenants.Enter("lp_b"))
        await using (AsyncServiceScope scope = App.CreateScope())
        {
            NotesContext db = scope.ServiceProvider.GetRequiredService<NotesContext>();
            db.Notes.Add(new Note { Tenant = "lp_b", Body = "granted" });
            await db.SaveChangesAsync(Cancellation);
            Assert.Equal(1, await db.Notes.CountAsync(Cancellation));
        }

        Assert.Equal((1L, 0L), await Host.CountRowsAsync("lp_b"));
        await using NpgsqlConnection outside = await App.DataSource.OpenConnectionAsync(Cancellation);
        Assert.Equal(AppRole, await ScalarAsync<string>(outside, "SELECT current_user"));
        foreach (string tenant in (string[])["lp_a", "lp_b"])
        {
            PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<long>(outside, $"SELECT count(*) FROM {tenant}.notes"));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }

        // The catalog: readable (resolution), never updatable (only the owner records outcomes).
        Assert.Equal(2L, await ScalarAsync<long>(outside, "SELECT count(*) FROM tenants"));
        PostgresException update = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<long>(outside, "UPDATE tenants SET state = 'ready' RETURNING 1"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, update.SqlState);
    }

    [Fact]
    public async Task The_pool_reset_undoes_the_role_switch()
    {
        await using (App.Tenants.Enter("lp_a"))
        {
            await using NpgsqlConnection inScope = await App.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal($"{Prefix}lp_a", await ScalarAsync<string>(inScope, "SELECT current_user"));
        }

        // Straight from the pool (no routing at all), the same single session: only the reset can have restored it.
        await using NpgsqlConnection next = await App.DataSource.Unrouted.OpenConnectionAsync(Cancellation);
        Assert.Equal(AppRole, await ScalarAsync<string>(next, "SELECT current_user"));
        Assert.Equal("\"shared\"", await ScalarAsync<string>(next, "SELECT current_setting('search_path')"));
    }

    [Fact]
    public async Task The_app_role_alone_cannot_create_the_catalog()
    {
        string database = await Postgres.Cluster.CreateDatabaseAsync(Cancellation);
        string appOnly = new NpgsqlConnectionStringBuilder(database) { Username = AppRole }.ConnectionString;
        await using var alone = new TenancyHost(appOnly);
        PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => alone.Registry.RegisterAsync("lp_c", Cancellation));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
    }

    [Fact]
    public async Task Switching_tenant_roles_on_later_makes_the_next_pass_grant_every_tenant()
    {
        await using (var oneRole = new TenancyHost(OwnerConnectionString))
        {
            await oneRole.ProvisionAsync("lp_old"); // by a process with one role for all, the owner's: nothing granted
        }

        // Already at the latest migration, yet behind for the app's setup: the pass grants it (and applies nothing).
        MigrationRunReport report = await App.Runner.RunAsync(cancellationToken: Cancellation);
        TenantRunOutcome old = Assert.Single(report.Outcomes);
        Assert.Equal(("lp_old", true, 0), (old.Tenant, old.Succeeded, old.AppliedCount));
        Assert.Empty((await App.Runner.RunAsync(cancellationToken: Cancellation)).Outcomes);

        await using (App.Tenants.Enter("lp_old"))
        {
            await using NpgsqlConnection connection = await App.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal(0L, await ScalarAsync<long>(connection, "SELECT count(*) FROM notes"));
        }
    }

    [Fact]
    public async Task Switching_tenant_roles_on_later_takes_back_the_app_roles_direct_grants_in_that_pass()
    {
        // Provisioned while tenant roles were off: the owner granted the tenant's schema to the app role itself.
        await using (var rolesOff = new TenancyHost(AppConnectionString, o => o.TenantRoles = false, ownerConnectionString: OwnerConnectionString))
        {
            await rolesOff.ProvisionWithANoteAsync("lp_direct");
        }

        string directGrants = $"""
            SELECT count(*)
            FROM (SELECT c.relacl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'lp_direct'
                  UNION ALL SELECT nspacl FROM pg_namespace WHERE nspname = 'lp_direct') o (acl), aclexplode(o.acl) a
            WHERE a.grantee = '{AppRole}'::regrole
            """;
        await using NpgsqlConnection superuser = await Host.DataSource.Unrouted.OpenConnectionAsync(Cancellation);
        Assert.NotEqual(0L, await ScalarAsync<long>(superuser, directGrants));

        TenantRunOutcome granted = Assert.Single((await App.Runner.RunAsync(cancellationToken: Cancellation)).Outcomes);
        Assert.Equal(("lp_direct", true), (granted.Tenant, granted.Succeeded));
        Assert.Equal(0L, await ScalarAsync<long>(superuser, directGrants));

        // Outside a scope the app role reaches the tenant no more; inside its scope, through the tenant's role, it does.
        await using (NpgsqlConnection outside = await App.DataSource.OpenConnectionAsync(Cancellation))
        {
            PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<long>(outside, "SELECT count(*) FROM lp_direct.notes"));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }

        await using (App.Tenants.Enter("lp_direct"))
        {
            await using NpgsqlConnection inside = await App.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal(1L, await ScalarAsync<long>(inside, "SELECT count(*) FROM notes"));
        }
    }

    [Fact]
    public async Task Tenant_roles_reach_the_shared_schema_through_one_grant_to_public_not_one_each()
    {
        await using (NpgsqlConnection owner = await Host.DataSource.Unrouted.OpenConnectionAsync(Cancellation))
        {
            Assert.Equal(0L, await ScalarAsync<long>(owner,
                $"SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee WHERE n.nspname = 'shared' AND r.rolname LIKE '{Prefix}%'"));
        }

        // Still on the tenant's search path: a schema the role may not use would drop out of it silently.
        await using (App.Tenants.Enter("lp_a"))
        {
            await using NpgsqlConnection connection = await App.DataSource.OpenConnectionAsync(Cancellation);
            Assert.Equal($"{Prefix}lp_a", await ScalarAsync<string>(connection, "SELECT current_user"));
            Assert.Equal(["lp_a", "shared"], await ScalarAsync<string[]>(connection, "SELECT current_schemas(false)"));
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Cancellation))!;
    }
}

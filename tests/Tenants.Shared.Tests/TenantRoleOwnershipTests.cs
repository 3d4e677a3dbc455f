using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tenants.Shared.Migrations;
using Tenants.Shared.Offboarding;
using Tenants.Shared.Security;

namespace Tenants.Shared.Tests;

/// <summary>
/// Each tenant's role is its own: no two tenants map to one role, and the migrator grants no role that was not created
/// for the tenant (its comment says so).
/// </summary>
public sealed class TenantRoleOwnershipTests(PostgresFixture postgres) : LeastPrivilegedAppTest(postgres)
{
    [Fact]
    public async Task A_tenant_named_like_another_tenants_shortened_role_gets_a_role_of_its_own()
    {
        // Past 63 bytes a role name is shortened. This second name is valid for a tenant and has exactly the shape of
        // the first one's shortened role name under the scheme "prefix + name, cut to 54, '_', 8 hex of SHA-256".
        string longName = new('a', 60);
        string shaped = (Prefix + longName)[Prefix.Length..54] + "_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(longName)))[..8];
        Assert.Null(TenantNames.Problem(shaped, "shared"));
        await App.ProvisionAsync(longName);
        await App.ProvisionAsync(shaped);

        await using (App.Tenants.Enter(shaped))
        {
            await using NpgsqlConnection connection = await App.DataSource.OpenConnectionAsync(Cancellation);
            PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<long>(connection, $"SELECT count(*) FROM {PgIdentifier.Quote(longName)}.notes"));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }

        Assert.NotEqual(TenantRoleNames.NameFor(longName, Prefix), TenantRoleNames.NameFor(shaped, Prefix));
    }

    [Fact]
    public async Task A_role_not_created_for_the_tenant_fails_its_migration_and_is_neither_granted_nor_dropped()
    {
        // Another app on the cluster with the same prefix, or a leftover: a role named as this tenant's would be.
        string role = TenantRoleNames.NameFor("lp_foreign", Prefix);
        await ExecuteAsSuperuserAsync($"CREATE ROLE {PgIdentifier.Quote(role)} NOLOGIN");
        await App.Registry.RegisterAsync("lp_foreign", Cancellation);

        PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => App.Migrator.MigrateAsync("lp_foreign", Cancellation));
        Assert.Contains(role, refused.MessageText, StringComparison.Ordinal);
        Assert.Contains("was not created for tenant", refused.MessageText, StringComparison.Ordinal);
        TenantRecord record = (await App.Catalog.FindAsync("lp_foreign", Cancellation))!;
        Assert.Equal(MigrationState.Failed, record.State);
        Assert.Contains(role, record.LastError, StringComparison.Ordinal);

        await using (NpgsqlConnection owner = await Host.DataSource.Unrouted.OpenConnectionAsync(Cancellation))
        {
            Assert.False(await ScalarAsync<bool>(owner, $"SELECT has_schema_privilege('{role}', 'lp_foreign', 'USAGE')"));
            Assert.False(await ScalarAsync<bool>(owner, $"SELECT pg_has_role('{AppRole}', '{role}', 'MEMBER')"));
        }

        // Deleting the tenant takes back only what was given to it: the foreign role stays.
        var offboarding = App.Services.GetRequiredService<TenantOffboarding>();
        await offboarding.DeactivateAsync("lp_foreign", Cancellation);
        await offboarding.DeleteAsync("lp_foreign", SchemaDisposal.Drop, releaseName: true, Cancellation);
        await using (NpgsqlConnection owner = await Host.DataSource.Unrouted.OpenConnectionAsync(Cancellation))
        {
            Assert.True(await ScalarAsync<bool>(owner, $"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}')"));
        }
    }

    [Fact]
    public async Task A_tenant_of_the_same_name_in_another_database_of_the_cluster_shares_its_role_even_when_both_create_it_at_once()
    {
        // Roles are cluster-wide: the same app over a second database, with the same prefix, provisions the same name.
        string database = await CreateOwnedDatabaseAsync();
        await using var twin = new TenancyHost(
            new NpgsqlConnectionStringBuilder(database) { Username = AppRole }.ConnectionString,
            o => (o.TenantRoles, o.TenantRolePrefix) = (true, Prefix),
            ownerConnectionString: database);
        await Task.WhenAll(App.ProvisionAsync("lp_twin"), twin.ProvisionAsync("lp_twin"));

        foreach (TenancyHost host in (TenancyHost[])[App, twin])
        {
            await using (host.Tenants.Enter("lp_twin"))
            {
                await using NpgsqlConnection connection = await host.DataSource.OpenConnectionAsync(Cancellation);
                Assert.Equal(TenantRoleNames.NameFor("lp_twin", Prefix), await ScalarAsync<string>(connection, "SELECT current_user"));
                Assert.Equal(0L, await ScalarAsync<long>(connection, "SELECT count(*) FROM notes"));
            }
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Cancellation))!;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tenants.Shared.Offboarding;
using Tenants.Shared.Security;

namespace Tenants.Shared.Tests;

/// <summary>
/// Offboarding in the core: what the registry, the migrator and the runner make of deactivated and deleted tenants,
/// across processes (two hosts over one database), and deletion's lock against a concurrent migration; with tenant
/// roles off and on (the nested classes), where a deleted tenant's role goes and its archive is out of every tenant
/// role's reach.
/// </summary>
public abstract class OffboardingTests(PostgresFixture postgres, bool tenantRoles) : DatabaseTest(postgres)
{
    // Roles are cluster-wide and test databases share a cluster: a prefix of its own lets this test see its roles go.
    private readonly string _prefix = $"o{Guid.NewGuid():N}"[..12] + "_";

    private TenantOffboarding Offboarding => Host.Services.GetRequiredService<TenantOffboarding>();

    protected override void Configure(TenancyOptions options) => (options.TenantRoles, options.TenantRolePrefix) = (tenantRoles, _prefix);

    [Fact]
    public async Task A_deactivated_tenant_stays_registered_and_migrated_a_deleted_one_is_gone_but_its_name_kept()
    {
        await Host.ProvisionAsync("quiet");
        await Host.ProvisionAsync("gone");
        Assert.Equal(tenantRoles, await RoleExistsAsync("gone"));
        Assert.Equal(TenantStatus.Deactivated, (await Offboarding.DeactivateAsync("quiet", Cancellation))!.Status);
        await Offboarding.DeactivateAsync("gone", Cancellation);
        TenantDeletion deletion = await Offboarding.DeleteAsync("gone", SchemaDisposal.Drop, releaseName: false, Cancellation);
        Assert.Equal((DeletionOutcome.Deleted, null, false), (deletion.Outcome, deletion.ArchivedAs, deletion.NameReleased));
        await AssertOffboardedAsync("gone", archive: null);
        Assert.Equal(tenantRoles, await RoleExistsAsync("quiet")); // deactivated: kept

        // Another process (no cache) sees the same.
        await using var other = new TenancyHost(ConnectionString, Configure);
        Assert.Equal(["quiet"], await other.Registry.RegisteredTenantsAsync(Cancellation));
        Assert.True(await other.Registry.IsRegisteredAsync("quiet", Cancellation));
        Assert.False(await other.Registry.IsRegisteredAsync("gone", Cancellation));
        Assert.False(other.Registry.IsRegistered("gone"));
        await Assert.ThrowsAsync<UnknownTenantException>(async () => await other.Tenants.EnterAsync("gone", Cancellation));
        InvalidOperationException retired = await Assert.ThrowsAsync<InvalidOperationException>(() => other.Registry.RegisterAsync("gone", Cancellation));
        Assert.Contains("released", retired.Message, StringComparison.Ordinal);

        // The runner keeps the deactivated tenant current and never brings the deleted one back.
        await using (NpgsqlCommand forget = Host.DataSource.Unrouted.CreateCommand("UPDATE shared.tenants SET last_migration = NULL"))
        {
            await forget.ExecuteNonQueryAsync(Cancellation);
        }

        var report = await other.Runner.RunAsync(cancellationToken: Cancellation);
        Assert.Equal(["quiet"], report.Outcomes.Select(o => o.Tenant));
        Assert.Equal(1, report.Registered);
        Assert.DoesNotContain("gone", await Host.SchemasAsync());
        Assert.Equal(TenantStatus.Deleted, (await other.Catalog.FindAsync("gone", Cancellation))!.Status);
    }

    [Fact]
    public async Task A_process_that_still_thinks_a_deleted_tenant_exists_cannot_migrate_it_back()
    {
        await Host.ProvisionAsync("ghost");
        await using var stale = new TenancyHost(ConnectionString, Configure);
        Assert.True(await stale.Registry.IsRegisteredAsync("ghost", Cancellation)); // cached in that process from now on

        await Offboarding.DeactivateAsync("ghost", Cancellation);
        await Offboarding.DeleteAsync("ghost", SchemaDisposal.Drop, releaseName: false, Cancellation);

        await Assert.ThrowsAsync<UnknownTenantException>(() => stale.Migrator.MigrateAsync("ghost", Cancellation));
        Assert.DoesNotContain("ghost", await Host.SchemasAsync());
        await AssertOffboardedAsync("ghost", archive: null);
        var record = (await Host.Catalog.FindAsync("ghost", Cancellation))!;
        Assert.Equal((TenantStatus.Deleted, MigrationState.Ready, 0), (record.Status, record.State, record.Attempts)); // not marked failed
    }

    [Fact]
    public async Task Deleting_waits_for_a_migration_of_that_tenant_to_finish()
    {
        await Host.ProvisionAsync("busy");
        Assert.Equal(tenantRoles, await RoleExistsAsync("busy"));
        await Offboarding.DeactivateAsync("busy", Cancellation);

        // Hold the lock a migration of "busy" holds.
        await using NpgsqlConnection migration = await Host.DataSource.Unrouted.OpenConnectionAsync(Cancellation);
        await using (NpgsqlCommand take = new(TenantSchemaLock.LockSql, migration))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = "busy" });
            await take.ExecuteNonQueryAsync(Cancellation);
        }

        Task<TenantDeletion> deleting = Offboarding.DeleteAsync("busy", SchemaDisposal.Archive, releaseName: false, Cancellation);

        // The deletion is seen queued behind that lock by the server itself, not assumed after a pause.
        await Eventually.UntilAsync(async () => await AdvisoryLockWaitersAsync() == 1, "the deletion to wait on the migration's lock", Cancellation);
        Assert.False(deleting.IsCompleted);
        Assert.Contains("busy", await Host.SchemasAsync());

        await using (NpgsqlCommand release = new(TenantSchemaLock.UnlockSql, migration))
        {
            release.Parameters.Add(new NpgsqlParameter { Value = "busy" });
            await release.ExecuteNonQueryAsync(Cancellation);
        }

        TenantDeletion deleted = await deleting.WaitAsync(Eventually.Ceiling, Cancellation);
        HashSet<string> schemas = await Host.SchemasAsync();
        Assert.DoesNotContain("busy", schemas);
        Assert.Contains(Assert.IsType<string>(deleted.ArchivedAs), schemas);
        await AssertOffboardedAsync("busy", deleted.ArchivedAs);
    }

    [Fact]
    public async Task Archive_names_of_long_tenant_names_stay_within_63_bytes_and_distinct()
    {
        string a = "a" + new string('x', 61) + "1";
        string b = "a" + new string('x', 61) + "2";
        var archives = new List<string>();
        foreach (string name in (string[])[a, b])
        {
            await Host.ProvisionAsync(name);
            await Offboarding.DeactivateAsync(name, Cancellation);
            archives.Add((await Offboarding.DeleteAsync(name, SchemaDisposal.Archive, releaseName: true, Cancellation)).ArchivedAs!);
            await AssertOffboardedAsync(name, archives[^1]);
        }

        Assert.All(archives, n => Assert.True(n.Length <= TenantNames.MaxBytes, n));
        Assert.NotEqual(archives[0], archives[1]);
        HashSet<string> schemas = await Host.SchemasAsync();
        Assert.Superset(new HashSet<string>(archives), schemas);
        Assert.True(await Host.Registry.RegisterAsync(a, Cancellation)); // released: the name is free again
    }

    /// <summary>
    /// The deleted tenant's role is gone, and its archive (when kept) grants nothing to anyone but its owner: no tenant
    /// role may look into it.
    /// </summary>
    private async Task AssertOffboardedAsync(string tenant, string? archive)
    {
        if (archive is not null)
        {
            Assert.Equal(0L, await SchemaGrants.ToOthersThanOwnerAsync(ConnectionString, archive, Cancellation));
            Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $2) AND has_schema_privilege(oid, $1, 'USAGE')", archive, _prefix));
        }

        Assert.False(await RoleExistsAsync(tenant));
    }

    private async Task<bool> RoleExistsAsync(string tenant) =>
        await ScalarAsync("SELECT count(*) FROM pg_roles WHERE rolname = $1", TenantRoleNames.NameFor(tenant, _prefix)) == 1;

    private async Task<long> ScalarAsync(string sql, params object[] values)
    {
        await using NpgsqlCommand command = Host.DataSource.Unrouted.CreateCommand(sql);
        foreach (object value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return (long)(await command.ExecuteScalarAsync(Cancellation))!;
    }

    /// <summary>Sessions of this test's database waiting for an advisory lock another session holds.</summary>
    private async Task<long> AdvisoryLockWaitersAsync()
    {
        await using NpgsqlCommand command = Host.DataSource.Unrouted.CreateCommand(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()");
        return (long)(await command.ExecuteScalarAsync(Cancellation))!;
    }

    public sealed class TenantRolesOff(PostgresFixture postgres) : OffboardingTests(postgres, tenantRoles: false);

    public sealed class TenantRolesOn(PostgresFixture postgres) : OffboardingTests(postgres, tenantRoles: true);
}

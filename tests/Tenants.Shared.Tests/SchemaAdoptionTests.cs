using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tenants.Shared.Offboarding;

namespace Tenants.Shared.Tests;

/// <summary>
/// A tenant never adopts a schema it did not create: a schema of its name made by anyone else (here by the owner role
/// itself, which could otherwise grant and drop it) is refused at registration and at migration, and deleting the
/// tenant leaves it alone.
/// </summary>
public sealed class SchemaAdoptionTests(PostgresFixture postgres) : LeastPrivilegedAppTest(postgres)
{
    [Fact]
    public async Task Registering_a_name_whose_schema_exists_but_is_no_tenants_is_refused_and_registers_nothing()
    {
        await CreateForeignSchemaAsync("audit");

        SchemaTakenException refused = await Assert.ThrowsAsync<SchemaTakenException>(() => App.Registry.RegisterAsync("audit", Cancellation));
        Assert.Equal("audit", refused.TenantName);
        Assert.Contains("Schema 'audit' already exists and was not created for a tenant", refused.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<SchemaTakenException>(() => App.Catalog.CreateAsync("audit", "Audit", Cancellation));
        Assert.Null(await App.Catalog.FindAsync("audit", Cancellation));
        Assert.Equal("trail kept 0", await ForeignSchemaStateAsync("audit"));
    }

    [Fact]
    public async Task A_schema_made_by_someone_else_after_registration_fails_the_migration_and_gets_nothing()
    {
        await App.Registry.RegisterAsync("ledger", Cancellation);
        await CreateForeignSchemaAsync("ledger");

        PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() => App.Migrator.MigrateAsync("ledger", Cancellation));
        Assert.Equal(PostgresErrorCodes.DuplicateSchema, refused.SqlState);
        Assert.Contains("Schema ledger already exists and was not created for tenant ledger", refused.MessageText, StringComparison.Ordinal);
        TenantRecord record = (await App.Catalog.FindAsync("ledger", Cancellation))!;
        Assert.Equal(MigrationState.Failed, record.State);
        Assert.Contains("was not created for tenant", record.LastError, StringComparison.Ordinal);

        // Nothing migrated into it, nothing granted on it.
        Assert.Equal("trail kept 0", await ForeignSchemaStateAsync("ledger"));
    }

    [Theory]
    [InlineData(SchemaDisposal.Drop)]
    [InlineData(SchemaDisposal.Archive)]
    public async Task Deleting_a_tenant_leaves_a_schema_of_its_name_that_it_did_not_create(SchemaDisposal disposal)
    {
        await App.Registry.RegisterAsync("ledger", Cancellation);
        await CreateForeignSchemaAsync("ledger");

        var offboarding = App.Services.GetRequiredService<TenantOffboarding>();
        await offboarding.DeactivateAsync("ledger", Cancellation);
        TenantDeletion deletion = await offboarding.DeleteAsync("ledger", disposal, releaseName: true, Cancellation);
        Assert.Equal(DeletionOutcome.Deleted, deletion.Outcome);
        Assert.Equal("trail kept 0", await ForeignSchemaStateAsync("ledger"));
    }

    /// <summary>A schema with a table and a row, made by the owner role outside the migrator, as another tool of the team might.</summary>
    private async Task CreateForeignSchemaAsync(string name)
    {
        await using NpgsqlDataSource owner = NpgsqlDataSource.Create(OwnerConnectionString);
        await using NpgsqlCommand create = owner.CreateCommand(
            $"CREATE SCHEMA {name}; CREATE TABLE {name}.trail (entry text); INSERT INTO {name}.trail VALUES ('kept')");
        await create.ExecuteNonQueryAsync(Cancellation);
    }

    /// <summary>The schema's tables, its rows, and how many grants it and its tables carry besides the owner's own.</summary>
    private async Task<string> ForeignSchemaStateAsync(string name)
    {
        await using NpgsqlCommand state = Host.DataSource.Unrouted.CreateCommand(
            $"""
            SELECT (SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = '{name}')
                || ' ' || (SELECT string_agg(entry, ',') FROM {name}.trail)
                || ' ' || (SELECT count(*) FROM (SELECT nspacl AS acl, nspowner AS owner FROM pg_namespace WHERE nspname = '{name}'
                                                 UNION ALL SELECT c.relacl, c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{name}') o,
                                                aclexplode(o.acl) a WHERE a.grantee <> o.owner)
            """);
        return (string)(await state.ExecuteScalarAsync(Cancellation))!;
    }
}

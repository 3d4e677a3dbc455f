using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tenants.Shared.Migrations;

namespace Tenants.Shared.Tests;

/// <summary>
/// The tenancy core as an app wires it (AddTenancy + AddTenantDbContext) over a test database, with tenant roles off
/// unless <c>configure</c> turns them on. Two hosts over one database behave as two processes: separate pools, caches
/// and registries, one catalog.
/// </summary>
public sealed class TenancyHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public TenancyHost(
        string connectionString,
        Action<TenancyOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        string? ownerConnectionString = null,
        int contextPoolSize = TenancyServiceCollectionExtensions.DefaultPoolSize)
    {
        ConnectionString = connectionString;
        var collection = new ServiceCollection();
        services?.Invoke(collection);
        _services = collection
            .AddLogging()
            .AddTenancy(connectionString, o =>
            {
                // Tenant roles (on by default) are cluster-wide: tests that share tenant names across databases would
                // share them too. A test that wants them says so (LeastPrivilegedAppTest, with a prefix of its own).
                o.TenantRoles = false;

                // Tests that run many scopes of one tenant at once wait for its connections however slow the machine;
                // the limits themselves are the default plan's (TenantCapacityTests tests them).
                o.Plans[o.DefaultPlan].ConnectionWait = TimeSpan.FromMinutes(1);
                configure?.Invoke(o);
            }, ownerConnectionString)
            .AddTenantDbContext<NotesContext>(poolSize: contextPoolSize)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public string ConnectionString { get; }

    public IServiceProvider Services => _services;

    public TenantContext Tenants => _services.GetRequiredService<TenantContext>();

    public ITenantRegistry Registry => _services.GetRequiredService<ITenantRegistry>();

    public TenantDataSource DataSource => _services.GetRequiredService<TenantDataSource>();

    /// <summary>A DI scope holding a NotesContext, as a request would.</summary>
    public AsyncServiceScope CreateScope() => _services.CreateAsyncScope();

    public TenantMigrator<NotesContext> Migrator => _services.GetRequiredService<TenantMigrator<NotesContext>>();

    public TenantMigrationRunner<NotesContext> Runner => _services.GetRequiredService<TenantMigrationRunner<NotesContext>>();

    public ITenantCatalog Catalog => _services.GetRequiredService<ITenantCatalog>();

    /// <summary>Registers the tenant and migrates its schema, as provisioning does.</summary>
    public async Task ProvisionAsync(string tenant)
    {
        await Registry.RegisterAsync(tenant);
        await Migrator.MigrateAsync(tenant);
    }

    /// <summary>Registers and migrates the tenant, then writes one note whose body is its name, straight into its schema.</summary>
    public async Task ProvisionWithANoteAsync(string tenant)
    {
        await ProvisionAsync(tenant);
        await WriteANoteAsync(tenant);
    }

    /// <summary>Writes one note whose body is the tenant's name straight into its schema.</summary>
    public async Task WriteANoteAsync(string tenant)
    {
        await using NpgsqlCommand insert = DataSource.Unrouted.CreateCommand(
            $"INSERT INTO {PgIdentifier.Quote(tenant)}.notes (\"Tenant\", \"Body\") VALUES ($1, $1)");
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant });
        await insert.ExecuteNonQueryAsync();
    }

    /// <summary>Counts one tenant's rows straight from its schema, qualified, bypassing all routing.</summary>
    public async Task<(long All, long Foreign)> CountRowsAsync(string tenant)
    {
        await using NpgsqlCommand count = DataSource.Unrouted.CreateCommand(
            $"SELECT count(*), count(*) FILTER (WHERE \"Tenant\" <> $1) FROM {PgIdentifier.Quote(tenant)}.notes");
        count.Parameters.Add(new NpgsqlParameter { Value = tenant });
        await using NpgsqlDataReader reader = await count.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The schema names that exist in the database right now.</summary>
    public async Task<HashSet<string>> SchemasAsync()
    {
        await using NpgsqlCommand command = DataSource.Unrouted.CreateCommand("SELECT nspname FROM pg_namespace");
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

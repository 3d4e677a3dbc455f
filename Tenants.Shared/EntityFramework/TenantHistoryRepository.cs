using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations.Internal;

namespace Tenants.Shared.EntityFramework;

#pragma warning disable EF1001 // Internal EF Core API: NpgsqlHistoryRepository is the only way to keep Npgsql's history SQL while moving the table.

/// <summary>
/// Pins <c>__EFMigrationsHistory</c> to the schema of the tenant current at each call. Unpinned, Npgsql looks for the
/// history table in <c>public</c> (efcore.pg #3180): every tenant then reads the wrong history, or none, and re-applies
/// migrations. EF Core builds one history repository (and one migrator holding it) per context object, and a pooled
/// context serves one tenant's lease after another's, so the pin follows the tenant rather than the context.
/// </summary>
internal sealed class TenantHistoryRepository(HistoryRepositoryDependencies dependencies) : IHistoryRepository
{
    private SchemaHistoryRepository? _pinned;

    /// <summary>Npgsql's history repository for the current tenant's schema; kept while the tenant stays the same, as a migration calls it many times.</summary>
    private SchemaHistoryRepository Pinned
    {
        get
        {
            string? schema = TenantContext.CurrentTenant;
            if (_pinned is null || _pinned.Schema != schema)
            {
                _pinned = new SchemaHistoryRepository(dependencies, schema);
            }

            return _pinned;
        }
    }

    // Every member is passed on, the interface's default ones too: Npgsql implements CreateIfNotExists so that
    // concurrent migrators of one tenant do not fail on each other's table.
    private IHistoryRepository Repository => Pinned;

    public LockReleaseBehavior LockReleaseBehavior => Repository.LockReleaseBehavior;

    public bool Exists() => Repository.Exists();

    public Task<bool> ExistsAsync(CancellationToken cancellationToken = default) => Repository.ExistsAsync(cancellationToken);

    public void Create() => Repository.Create();

    public Task CreateAsync(CancellationToken cancellationToken = default) => Repository.CreateAsync(cancellationToken);

    public bool CreateIfNotExists() => Repository.CreateIfNotExists();

    public Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => Repository.CreateIfNotExistsAsync(cancellationToken);

    public IReadOnlyList<HistoryRow> GetAppliedMigrations() => Repository.GetAppliedMigrations();

    public Task<IReadOnlyList<HistoryRow>> GetAppliedMigrationsAsync(CancellationToken cancellationToken = default) =>
        Repository.GetAppliedMigrationsAsync(cancellationToken);

    public IMigrationsDatabaseLock AcquireDatabaseLock() => Repository.AcquireDatabaseLock();

    public Task<IMigrationsDatabaseLock> AcquireDatabaseLockAsync(CancellationToken cancellationToken = default) =>
        Repository.AcquireDatabaseLockAsync(cancellationToken);

    public string GetCreateScript() => Repository.GetCreateScript();

    public string GetCreateIfNotExistsScript() => Repository.GetCreateIfNotExistsScript();

    public string GetInsertScript(HistoryRow row) => Repository.GetInsertScript(row);

    public string GetDeleteScript(string migrationId) => Repository.GetDeleteScript(migrationId);

    public string GetBeginIfNotExistsScript(string migrationId) => Repository.GetBeginIfNotExistsScript(migrationId);

    public string GetBeginIfExistsScript(string migrationId) => Repository.GetBeginIfExistsScript(migrationId);

    public string GetEndIfScript() => Repository.GetEndIfScript();

    /// <summary>Npgsql's history repository with its table in one schema (the configured one outside any tenant's scope).</summary>
    private sealed class SchemaHistoryRepository(HistoryRepositoryDependencies dependencies, string? schema) : NpgsqlHistoryRepository(dependencies)
    {
        public string? Schema => schema;

        protected override string? TableSchema => schema ?? base.TableSchema;
    }
}
#pragma warning restore EF1001

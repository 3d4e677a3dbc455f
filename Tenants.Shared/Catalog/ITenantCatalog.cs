namespace Tenants.Shared.Catalog;

/// <summary>
/// The catalog's records: what provisioning, the migration runner and operators read and write. The same table backs
/// <see cref="ITenantRegistry"/>, which keeps the origin API's plain set semantics.
/// </summary>
public interface ITenantCatalog
{
    /// <summary>
    /// Adds a tenant (validated). Idempotent for identical details; a different display name is a conflict. Throws
    /// <see cref="SchemaTakenException"/> when a schema of that name exists that was not created for a tenant.
    /// </summary>
    Task<(RegistrationOutcome Outcome, TenantRecord Record)> CreateAsync(string name, string displayName, CancellationToken cancellationToken = default);

    Task<TenantRecord?> FindAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The records of those of <paramref name="names"/> the catalog holds, in one query: a name without a row is left out.</summary>
    Task<IReadOnlyList<TenantRecord>> FindManyAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<TenantRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The tenants not recorded ready at <paramref name="latestMigration"/>: one query, however many tenants there
    /// are, so a pass with nothing pending costs next to nothing.
    /// </summary>
    Task<IReadOnlyList<string>> BehindAsync(string? latestMigration, CancellationToken cancellationToken = default);

    /// <summary>Records a successful migration pass: state ready, the last applied migration, the error cleared.</summary>
    Task MarkReadyAsync(string name, string? lastMigration, CancellationToken cancellationToken = default);

    /// <summary>Records a failed attempt: state failed, attempts + 1, the error kept for operators.</summary>
    Task MarkFailedAsync(string name, string error, CancellationToken cancellationToken = default);
}

namespace Tenants.Shared.Catalog;

/// <summary>One tenant's row in the catalog. <see cref="Plan"/> is null for a tenant on the default plan.</summary>
public sealed record TenantRecord(
    string Name,
    string DisplayName,
    MigrationState State,
    string? LastMigration,
    int Attempts,
    string? LastError,
    DateTimeOffset RegisteredAt,
    DateTimeOffset UpdatedAt,
    TenantStatus Status,
    string? ArchivedAs,
    string? Plan)
{
    /// <summary>Whether requests may reach the tenant's data: active, and its schema at the latest migration.</summary>
    public bool IsServed => Status == TenantStatus.Active && State == MigrationState.Ready;
}

namespace Tenants.Shared.Catalog;

/// <summary>One tenant's row in the catalog.</summary>
public sealed record TenantRecord(
    string Name,
    string DisplayName,
    TenantState State,
    string? LastMigration,
    int Attempts,
    string? LastError,
    DateTimeOffset RegisteredAt,
    DateTimeOffset UpdatedAt);

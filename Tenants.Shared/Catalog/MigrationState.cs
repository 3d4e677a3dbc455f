namespace Tenants.Shared.Catalog;

/// <summary>Where a tenant's schema stands in its migrations (its serving status is <see cref="TenantStatus"/>). Stored as lowercase text.</summary>
public enum MigrationState
{
    /// <summary>Registered; its schema is not (yet) at the latest migration.</summary>
    Pending,

    /// <summary>Its schema is at the latest migration the last run knew of.</summary>
    Ready,

    /// <summary>The last migration attempt failed; <see cref="TenantRecord.LastError"/> says why.</summary>
    Failed,
}

namespace Tenants.Shared.Catalog;

/// <summary>
/// Whether a tenant is served. Independent of <see cref="MigrationState"/> (where its schema's migrations stand): a
/// deactivated tenant's schema is still migrated, so that reactivating it needs nothing else. Stored as lowercase text.
/// </summary>
public enum TenantStatus
{
    /// <summary>Served: requests reach its data.</summary>
    Active,

    /// <summary>Not served (requests get 410 Gone); its data is kept and it may be reactivated.</summary>
    Deactivated,

    /// <summary>
    /// Deleted, its schema archived or dropped. The catalog keeps the row so that the name is not reused by accident;
    /// deleting with the name released removes the row instead.
    /// </summary>
    Deleted,
}

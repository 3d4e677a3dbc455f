namespace Tenants.Shared.Security;

/// <summary>
/// The per-tenant role a scope switches to when <see cref="TenancyOptions.TenantRoles"/> is on: it can use that
/// tenant's schema (and the shared one) and nothing else, so even a hand-written query qualified with another tenant's
/// schema fails with a permission error.
/// </summary>
public static class TenantRoleNames
{
    /// <summary>The role's name: the prefix then the tenant's name, shortened with a stable hash past 63 bytes.</summary>
    public static string NameFor(string tenant, string prefix) => PgIdentifier.Compose(prefix, tenant);
}

namespace Tenants.Shared.Security;

/// <summary>
/// The per-tenant role a scope switches to when <see cref="TenancyOptions.TenantRoles"/> is on: it can use that
/// tenant's schema (and the shared one) and nothing else, so even a hand-written query qualified with another tenant's
/// schema fails with a permission error. The migrator grants a role only to the tenant it created it for.
/// </summary>
public static class TenantRoleNames
{
    /// <summary>
    /// The role's name: the prefix then the tenant's name, shortened past 63 bytes with a <c>~</c> and a stable hash,
    /// which no tenant's name can spell, so no two tenants share a role.
    /// </summary>
    public static string NameFor(string tenant, string prefix) => PgIdentifier.Compose(prefix, tenant);
}

using System.Security.Cryptography;
using System.Text;

namespace Tenants.Shared.Security;

/// <summary>
/// The per-tenant role a scope switches to when <see cref="TenancyOptions.TenantRoles"/> is on: it can use that
/// tenant's schema (and the shared one) and nothing else, so even a hand-written query qualified with another tenant's
/// schema fails with a permission error (DESIGN.md §8).
/// </summary>
public static class TenantRoleNames
{
    /// <summary>The role's name: the prefix then the tenant's name, shortened with a stable hash past 63 bytes.</summary>
    public static string NameFor(string tenant, string prefix)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(prefix);
        string name = prefix + tenant;
        if (name.Length <= TenantNames.MaxBytes)
        {
            return name; // tenant names and prefixes are ASCII: one byte per character
        }

        // PostgreSQL would silently truncate (DESIGN.md §5); two long names must not share a role.
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(tenant)))[..8];
        return string.Concat(name.AsSpan(0, TenantNames.MaxBytes - hash.Length - 1), "_", hash);
    }
}

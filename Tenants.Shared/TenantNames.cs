using System.Text;

namespace Tenants.Shared;

/// <summary>
/// The one validator for tenant names. A tenant's name is also its schema's name, so the rules are PostgreSQL's
/// identifier rules made strict: an allow-list rather than a deny-list, because PostgreSQL silently truncates
/// identifiers over 63 bytes (two tenants could then share a schema) and reserves some prefixes.
/// </summary>
public static class TenantNames
{
    /// <summary>PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated without an error.</summary>
    public const int MaxBytes = 63;

    /// <summary>Returns why <paramref name="name"/> cannot be a tenant name, or null when it can.</summary>
    public static string? Problem(string? name, string sharedSchema)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "A tenant name is required.";
        }

        // Count bytes, not chars: a look-alike letter outside ASCII is rejected below, but the limit is PostgreSQL's, in bytes.
        if (Encoding.UTF8.GetByteCount(name) > MaxBytes)
        {
            return $"A tenant name is at most {MaxBytes} bytes.";
        }

        if (name[0] is < 'a' or > 'z')
        {
            return "A tenant name starts with a lowercase ASCII letter (a-z).";
        }

        foreach (char c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                return "A tenant name holds only lowercase ASCII letters, digits and underscores.";
            }
        }

        // Covers pg_catalog, pg_toast and every pg_temp_N / pg_toast_temp_N as well.
        if (name.StartsWith("pg_", StringComparison.Ordinal))
        {
            return "Names starting with 'pg_' are reserved by PostgreSQL.";
        }

        if (name is "public" or "information_schema")
        {
            return $"'{name}' is a schema PostgreSQL already has.";
        }

        if (string.Equals(name, sharedSchema, StringComparison.Ordinal))
        {
            return $"'{name}' is the shared schema's name.";
        }

        return null;
    }

    /// <summary>Throws <see cref="InvalidTenantNameException"/> unless <paramref name="name"/> is a valid tenant name.</summary>
    public static string EnsureValid(string? name, string sharedSchema)
    {
        string? problem = Problem(name, sharedSchema);
        return problem is null ? name! : throw new InvalidTenantNameException(name, problem);
    }
}

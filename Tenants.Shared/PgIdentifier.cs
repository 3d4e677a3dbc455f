using System.Security.Cryptography;
using System.Text;

namespace Tenants.Shared;

/// <summary>Quotes identifiers wherever SQL is built, even after validation: the second fence costs nothing.</summary>
public static class PgIdentifier
{
    /// <summary>Double-quotes <paramref name="identifier"/>, doubling any double quote inside it (PostgreSQL's rule).</summary>
    public static string Quote(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>Single-quotes <paramref name="value"/> as a string literal, for DO blocks, which take no parameters.</summary>
    internal static string QuoteLiteral(string value) => $"'{value.Replace("'", "''", StringComparison.Ordinal)}'";

    /// <summary>
    /// <paramref name="prefix"/> then <paramref name="name"/> (both ASCII), shortened with a stable hash of the name
    /// past 63 bytes: PostgreSQL would silently truncate, and two long names must not collide.
    /// </summary>
    public static string Compose(string prefix, string name)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(name);
        string composed = prefix + name;
        if (composed.Length <= TenantNames.MaxBytes)
        {
            return composed;
        }

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8];
        return string.Concat(composed.AsSpan(0, TenantNames.MaxBytes - hash.Length - 1), "_", hash);
    }
}

using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace Tenants.Shared;

/// <summary>Quotes identifiers wherever SQL is built, even after validation: the second fence costs nothing.</summary>
public static class PgIdentifier
{
    // 64 bits of hash: two shortened names collide only by a hash collision.
    private const int ShortenedHashLength = 16;

    /// <summary>Double-quotes <paramref name="identifier"/>, doubling any double quote inside it (PostgreSQL's rule).</summary>
    public static string Quote(string identifier)
    {
        var quoted = new DefaultInterpolatedStringHandler(2, 0);
        AppendQuoted(ref quoted, identifier);
        return quoted.ToStringAndClear();
    }

    /// <summary>Writes <paramref name="identifier"/> double-quoted into <paramref name="sql"/>: SQL built in one pass.</summary>
    internal static void AppendQuoted(ref DefaultInterpolatedStringHandler sql, string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        sql.AppendLiteral("\"");
        sql.AppendLiteral(identifier.Replace("\"", "\"\"", StringComparison.Ordinal));
        sql.AppendLiteral("\"");
    }

    /// <summary>Single-quotes <paramref name="value"/> as a string literal, for DO blocks, which take no parameters.</summary>
    internal static string QuoteLiteral(string value) => $"'{value.Replace("'", "''", StringComparison.Ordinal)}'";

    /// <summary>
    /// <paramref name="prefix"/> then <paramref name="name"/> (both ASCII), shortened past 63 bytes, which PostgreSQL
    /// would silently truncate: the name's start, <c>~</c>, then 16 hex digits of the name's SHA-256. No tenant name
    /// holds a <c>~</c>, so a shortened name is never the plain composition of another name.
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

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..ShortenedHashLength];
        return string.Concat(composed.AsSpan(0, TenantNames.MaxBytes - hash.Length - 1), "~", hash);
    }
}

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
}

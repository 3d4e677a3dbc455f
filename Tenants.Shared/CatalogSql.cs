using Npgsql;

namespace Tenants.Shared;

/// <summary>The catalog table's DDL and queries, in one place. Every identifier is quoted.</summary>
internal sealed class CatalogSql
{
    // Serialises concurrent bootstraps: CREATE ... IF NOT EXISTS alone still races on the system catalogs.
    private const long BootstrapLockKey = 0x7465_6E61_6E74_7301; // "tenants" + 1

    public CatalogSql(string sharedSchema)
    {
        string schema = PgIdentifier.Quote(sharedSchema); // quoted anyway, though already validated
        string table = $"{schema}.\"tenants\"";
        Bootstrap = $"""
            SELECT pg_advisory_xact_lock({BootstrapLockKey});
            CREATE SCHEMA IF NOT EXISTS {schema};
            CREATE TABLE IF NOT EXISTS {table} (
                name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$' AND octet_length(name) <= 63),
                registered_at timestamptz NOT NULL DEFAULT now()
            );
            """;
        Register = $"INSERT INTO {table} (name) VALUES ($1) ON CONFLICT (name) DO NOTHING";
        Exists = $"SELECT EXISTS (SELECT 1 FROM {table} WHERE name = $1)";
        All = $"SELECT name FROM {table}";
    }

    public string Bootstrap { get; }

    public string Register { get; }

    public string Exists { get; }

    public string All { get; }
}

using Tenants.Shared.Security;

namespace Tenants.Shared.Catalog;

/// <summary>The catalog table's DDL and statements, in one place. Every identifier is quoted.</summary>
internal sealed class CatalogSql
{
    // Serialises concurrent bootstraps: CREATE ... IF NOT EXISTS alone still races on the system catalogs.
    private const long BootstrapLockKey = 0x7465_6E61_6E74_7301; // "tenants" + 1

    /// <summary>The NOTIFY channel a new registration is announced on; the payload is the tenant's name.</summary>
    public const string RegisteredChannel = "tenant_saas_registered";

    private const string Columns = "name, display_name, state, last_migration, attempts, last_error, registered_at, updated_at, status, archived_as";

    public CatalogSql(string sharedSchema, TenantPrivileges privileges)
    {
        string schema = PgIdentifier.Quote(sharedSchema); // quoted anyway, though already validated
        string table = Table(sharedSchema);

        Bootstrap = $"""
            SELECT pg_advisory_xact_lock({BootstrapLockKey});
            CREATE SCHEMA IF NOT EXISTS {schema};
            CREATE TABLE IF NOT EXISTS {table} (
                name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$' AND octet_length(name) <= 63),
                display_name text NOT NULL,
                state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'failed')),
                last_migration text,
                attempts integer NOT NULL DEFAULT 0,
                last_error text,
                registered_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                grants text,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated', 'deleted')),
                archived_as text
            );
            CREATE OR REPLACE FUNCTION {schema}."tenants_notify"() RETURNS trigger LANGUAGE plpgsql AS
                $fn$ BEGIN PERFORM pg_notify('{RegisteredChannel}', NEW.name); RETURN NEW; END $fn$;
            CREATE OR REPLACE TRIGGER "tenants_notify" AFTER INSERT ON {table}
                FOR EACH ROW EXECUTE FUNCTION {schema}."tenants_notify"();
            {privileges.SharedSchemaGrants(schema)}
            {privileges.CatalogGrants(table)}
            """;
        Insert = $"INSERT INTO {table} (name, display_name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING {Columns}";
        // A deleted tenant's row only keeps its name from reuse: it is not registered.
        Exists = $"SELECT EXISTS (SELECT 1 FROM {table} WHERE name = $1 AND status <> 'deleted')";
        Names = $"SELECT name FROM {table} WHERE status <> 'deleted'";
        Find = $"SELECT {Columns} FROM {table} WHERE name = $1";
        FindMany = $"SELECT {Columns} FROM {table} WHERE name = ANY($1)";
        List = $"SELECT {Columns} FROM {table} ORDER BY name";
        // Behind: not at the latest migration, or granted under other settings (tenant roles switched on, say).
        Behind = $"SELECT name FROM {table} WHERE status <> 'deleted' AND (state <> 'ready' OR last_migration IS DISTINCT FROM $1 OR grants IS DISTINCT FROM $2) ORDER BY name";
        MarkReady = $"UPDATE {table} SET state = 'ready', last_migration = $2, grants = $3, last_error = NULL, updated_at = now() WHERE name = $1";
        MarkFailed = $"UPDATE {table} SET state = 'failed', attempts = attempts + 1, last_error = $2, updated_at = now() WHERE name = $1";
        SetStatus = $"UPDATE {table} SET status = $2, updated_at = now() WHERE name = $1 AND status <> 'deleted' RETURNING {Columns}";
        StatusForUpdate = $"SELECT status, archived_as FROM {table} WHERE name = $1 FOR UPDATE";
        MarkDeleted = $"UPDATE {table} SET status = 'deleted', archived_as = $2, updated_at = now() WHERE name = $1";
        Remove = $"DELETE FROM {table} WHERE name = $1";
    }

    public string Bootstrap { get; }

    /// <summary>The catalog table's name, quoted and qualified with the shared schema.</summary>
    public static string Table(string sharedSchema) => $"{PgIdentifier.Quote(sharedSchema)}.\"tenants\"";

    public string Insert { get; }

    public string Exists { get; }

    public string Names { get; }

    public string Find { get; }

    public string FindMany { get; }

    public string List { get; }

    public string Behind { get; }

    public string MarkReady { get; }

    public string MarkFailed { get; }

    public string SetStatus { get; }

    public string StatusForUpdate { get; }

    public string MarkDeleted { get; }

    public string Remove { get; }
}

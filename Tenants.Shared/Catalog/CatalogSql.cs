using Tenants.Shared.Security;

namespace Tenants.Shared.Catalog;

/// <summary>The catalog table's DDL and statements, in one place. Every identifier is quoted.</summary>
internal sealed class CatalogSql
{
    // Serialises concurrent bootstraps: CREATE ... IF NOT EXISTS alone still races on the system catalogs.
    private const long BootstrapLockKey = 0x7465_6E61_6E74_7301; // "tenants" + 1


    private const string Columns = "name, display_name, state, last_migration, attempts, last_error, registered_at, updated_at, status, archived_as, plan";

    public CatalogSql(string sharedSchema, TenantPrivileges privileges)
    {
        string schema = PgIdentifier.Quote(sharedSchema); // quoted anyway, though already validated
        string table = Table(sharedSchema);
        string requests = $"{schema}.\"tenant_requests\"";

        // On a Citus cluster with schema-based sharding the shared schema stays on the coordinator, a schema of its
        // own rather than a distributed one (whose tables could not carry the catalog's triggers). Without Citus the
        // setting is a placeholder nothing reads.
        Bootstrap = $"""
            SELECT pg_advisory_xact_lock({BootstrapLockKey});
            SET LOCAL citus.enable_schema_based_sharding = off;
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
                archived_as text,
                plan text CHECK (plan ~ '^[a-z][a-z0-9_-]*$' AND octet_length(plan) <= 63)
            );
            CREATE OR REPLACE FUNCTION {schema}."tenants_notify"() RETURNS trigger LANGUAGE plpgsql AS
                $fn$ BEGIN PERFORM pg_notify('{CatalogChannels.Registered}', NEW.name); RETURN NEW; END $fn$;
            CREATE OR REPLACE TRIGGER "tenants_notify" AFTER INSERT ON {table}
                FOR EACH ROW EXECUTE FUNCTION {schema}."tenants_notify"();
            CREATE OR REPLACE FUNCTION {schema}."tenants_changed"() RETURNS trigger LANGUAGE plpgsql AS
                $fn$ BEGIN PERFORM pg_notify('{CatalogChannels.Changed}', COALESCE(NEW.name, OLD.name)); RETURN NULL; END $fn$;
            CREATE OR REPLACE TRIGGER "tenants_changed" AFTER UPDATE OF state, status, plan OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {schema}."tenants_changed"();
            CREATE TABLE IF NOT EXISTS {requests} (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tenant text NOT NULL,
                action text NOT NULL CHECK (action IN ('deactivate', 'reactivate', 'delete', 'plan')),
                schema_disposal text CHECK (schema_disposal IN ('archive', 'drop')),
                release_name boolean NOT NULL DEFAULT false,
                plan text CHECK (plan ~ '^[a-z][a-z0-9_-]*$' AND octet_length(plan) <= 63),
                requested_by text NOT NULL,
                requested_at timestamptz NOT NULL DEFAULT now(),
                state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'refused', 'failed')),
                outcome text,
                archived_as text,
                done_at timestamptz
            );
            CREATE OR REPLACE FUNCTION {schema}."tenant_requests_notify"() RETURNS trigger LANGUAGE plpgsql AS
                $fn$ BEGIN PERFORM pg_notify('{CatalogChannels.Requests}', NEW.id::text); RETURN NULL; END $fn$;
            CREATE OR REPLACE TRIGGER "tenant_requests_notify" AFTER INSERT OR UPDATE OF state ON {requests}
                FOR EACH ROW EXECUTE FUNCTION {schema}."tenant_requests_notify"();
            {privileges.SharedSchemaGrants(schema)}
            {privileges.CatalogGrants(table, requests)}
            """;
        // The requests table is created last: with it, the whole catalog is there.
        CatalogExists = $"SELECT to_regclass({PgIdentifier.QuoteLiteral(requests)}) IS NOT NULL";
        Insert = $"INSERT INTO {table} (name, display_name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING {Columns}";
        // A deleted tenant's row only keeps its name from reuse: it is not registered. No row: not registered; NULL: the default plan.
        PlanIfRegistered = $"SELECT plan FROM {table} WHERE name = $1 AND status <> 'deleted'";
        Names = $"SELECT name FROM {table} WHERE status <> 'deleted'";
        Find = $"SELECT {Columns} FROM {table} WHERE name = $1";
        FindMany = $"SELECT {Columns} FROM {table} WHERE name = ANY($1)";
        List = $"SELECT {Columns} FROM {table} ORDER BY name";
        // Behind: not at the latest migration, or granted under other settings (tenant roles switched on, say).
        Behind = $"SELECT name FROM {table} WHERE status <> 'deleted' AND (state <> 'ready' OR last_migration IS DISTINCT FROM $1 OR grants IS DISTINCT FROM $2) ORDER BY name";
        MarkReady = $"UPDATE {table} SET state = 'ready', last_migration = $2, grants = $3, last_error = NULL, updated_at = now() WHERE name = $1";
        MarkFailed = $"UPDATE {table} SET state = 'failed', attempts = attempts + 1, last_error = $2, updated_at = now() WHERE name = $1";
        SetStatus = $"UPDATE {table} SET status = $2, updated_at = now() WHERE name = $1 AND status <> 'deleted' RETURNING {Columns}";
        SetPlan = $"UPDATE {table} SET plan = $2, updated_at = now() WHERE name = $1 AND status <> 'deleted' RETURNING {Columns}";
        StatusForUpdate = $"SELECT status, archived_as FROM {table} WHERE name = $1 FOR UPDATE";
        MarkDeleted = $"UPDATE {table} SET status = 'deleted', archived_as = $2, updated_at = now() WHERE name = $1";
        Remove = $"DELETE FROM {table} WHERE name = $1";
        Request = $"INSERT INTO {requests} (tenant, action, schema_disposal, release_name, plan, requested_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {RequestColumns}";
        FindRequest = $"SELECT {RequestColumns} FROM {requests} WHERE id = $1";
        // One at a time, oldest first; a request another process is carrying out is skipped, not waited for.
        NextRequest = $"SELECT {RequestColumns} FROM {requests} WHERE state = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";
        CompleteRequest = $"UPDATE {requests} SET state = $2, outcome = $3, archived_as = $4, done_at = now() WHERE id = $1";
    }

    private const string RequestColumns = "id, tenant, action, schema_disposal, release_name, requested_by, requested_at, state, outcome, archived_as, done_at, plan";

    public string Bootstrap { get; }

    /// <summary>The catalog table's name, quoted and qualified with the shared schema.</summary>
    public static string Table(string sharedSchema) => $"{PgIdentifier.Quote(sharedSchema)}.\"tenants\"";

    public string CatalogExists { get; }

    public string Insert { get; }

    public string PlanIfRegistered { get; }

    public string Names { get; }

    public string Find { get; }

    public string FindMany { get; }

    public string List { get; }

    public string Behind { get; }

    public string MarkReady { get; }

    public string MarkFailed { get; }

    public string SetStatus { get; }

    /// <summary>$1 name, $2 plan (null: the default): changes a tenant's plan, unless deleted; returns its row.</summary>
    public string SetPlan { get; }

    public string StatusForUpdate { get; }

    public string MarkDeleted { get; }

    public string Remove { get; }

    public string Request { get; }

    public string FindRequest { get; }

    public string NextRequest { get; }

    public string CompleteRequest { get; }
}

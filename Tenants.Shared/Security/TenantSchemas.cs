namespace Tenants.Shared.Security;

/// <summary>
/// Which schemas are tenants': the migrator marks each schema it creates with a comment naming its tenant and adopts
/// no schema without that mark. A schema someone else made under a tenant's name (an <c>audit</c> schema, say) is never
/// migrated into, granted to a tenant, or archived or dropped when that tenant is deleted.
/// </summary>
internal static class TenantSchemas
{
    /// <summary>
    /// Whether a schema named <c>$1</c> exists without the mark of tenant <c>$1</c>: that name is taken. Any role may
    /// ask (schemas and their comments are readable by all).
    /// </summary>
    public const string TakenSql =
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1 AND obj_description(oid, 'pg_namespace') IS DISTINCT FROM 'tenant-saas: the schema of tenant ' || $1)";

    /// <summary>The comment marking a schema as the one created for <paramref name="tenant"/>, as a SQL literal.</summary>
    public static string Mark(string tenant) => PgIdentifier.QuoteLiteral($"tenant-saas: the schema of tenant {tenant}");

    /// <summary>
    /// Creates the tenant's schema with its mark, in one statement (never one without the other); when the schema exists,
    /// checks its mark instead and fails with SQLSTATE 42P06 (duplicate_schema) if it is not the tenant's.
    /// </summary>
    public static string CreateSql(string tenant)
    {
        string name = PgIdentifier.QuoteLiteral(tenant);
        return $"""
            DO $do$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = {name}) THEN
                    EXECUTE format('CREATE SCHEMA %I', {name});
                    EXECUTE format('COMMENT ON SCHEMA %I IS %L', {name}, {Mark(tenant)});
                ELSIF NOT {IsMarked(tenant)} THEN
                    RAISE EXCEPTION 'Schema % already exists and was not created for tenant %: the tenant gets no privileges on it and nothing is migrated into it.', {name}, {name}
                        USING ERRCODE = 'duplicate_schema',
                              HINT = 'Give the tenant another name, or rename or drop that schema if it is a leftover.';
                END IF;
            END $do$;
            """;
    }

    /// <summary>A SQL condition: the schema named <paramref name="tenant"/> exists and carries that tenant's mark.</summary>
    public static string IsMarked(string tenant) =>
        $"EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = {PgIdentifier.QuoteLiteral(tenant)} AND obj_description(oid, 'pg_namespace') = {Mark(tenant)})";
}

using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Catalog;

namespace Tenants.Shared.Security;

/// <summary>
/// What the owner grants, and to whom. With <see cref="TenancyOptions.TenantRoles"/> on, each tenant's
/// tables go to that tenant's role, and the app role (and the owner) may switch to it; otherwise they go to the app
/// role directly. The catalog is readable and insertable by the app role, never updatable: only the owner records
/// migration outcomes. With one role for all (no app role of its own) there is nothing to grant.
/// </summary>
public sealed class TenantPrivileges(OwnerDataSource owner, IOptions<TenancyOptions> options)
{
    private const long RoleLockKey = 0x7465_6E61_6E74_7302; // "tenants" + 2 (the catalog bootstrap holds + 1)

    private readonly TenancyOptions _options = options.Value;

    /// <summary>
    /// What a tenant's grants were made under, recorded in the catalog with its migration: when the settings change,
    /// every tenant counts as behind and the next pass grants it anew.
    /// </summary>
    public string Key => _options.TenantRoles
        ? $"{_options.TenantRolePrefix}* (marked by comment, shortened with ~) to {owner.AppRole ?? "-"}, shared schema to PUBLIC"
        : $"- to {owner.AppRole ?? "-"}";

    /// <summary>
    /// With tenant roles on, USAGE on the shared schema goes to PUBLIC, once: one ACL entry, not one per tenant role.
    /// PostgreSQL reads that ACL (detoasting it whole) each time it rebuilds a session's search path, that is on every
    /// routed request, so an entry per tenant would slow every request as tenants are added.
    /// USAGE lets a role look names up in the schema, nothing more: each table there still grants its own privileges
    /// (the catalog: the app role only).
    /// </summary>
    internal string SharedSchemaGrants(string quotedSharedSchema) =>
        _options.TenantRoles ? $"GRANT USAGE ON SCHEMA {quotedSharedSchema} TO PUBLIC;" : string.Empty;

    /// <summary>
    /// Statements that let the app role read the catalog, register tenants and ask for the rest (operator requests the
    /// owner's process carries out); empty when nothing to grant.
    /// </summary>
    internal string CatalogGrants(string quotedCatalogTable, string quotedRequestsTable)
    {
        if (owner.AppRole is not { } app)
        {
            return string.Empty;
        }

        string role = PgIdentifier.Quote(app);
        return $"""
            GRANT USAGE ON SCHEMA {PgIdentifier.Quote(_options.SharedSchema)} TO {role};
            GRANT SELECT, INSERT ON {quotedCatalogTable} TO {role};
            GRANT SELECT ON {quotedRequestsTable} TO {role};
            GRANT INSERT (tenant, action, schema_disposal, release_name, plan, requested_by) ON {quotedRequestsTable} TO {role};
            """;
    }

    /// <summary>
    /// SQL that takes back what <see cref="GrantTenantAsync"/> gave, for a deletion's transaction. The tenant's role
    /// loses everything in this database and is dropped, unless another database of the cluster still grants it
    /// something (roles are cluster-wide); a role of that name not marked as the tenant's is left alone. Without tenant
    /// roles, the app role loses its grants on the archived schema.
    /// </summary>
    internal string RevokeTenant(string tenant, string? archivedSchema)
    {
        if (_options.TenantRoles)
        {
            string role = PgIdentifier.QuoteLiteral(TenantRoleNames.NameFor(tenant, _options.TenantRolePrefix));
            return $"""
                DO $do$ BEGIN
                    IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = {role} AND shobj_description(r.oid, 'pg_authid') = {OwnerMark(tenant)}) THEN
                        EXECUTE format('DROP OWNED BY %I', {role});
                        BEGIN
                            EXECUTE format('DROP ROLE %I', {role});
                        EXCEPTION WHEN dependent_objects_still_exist THEN NULL;
                        END;
                    END IF;
                END $do$;
                """;
        }

        if (owner.AppRole is { } app && archivedSchema is not null)
        {
            // The archive exists only if the tenant's schema did (a tenant never migrated has none).
            string schema = PgIdentifier.QuoteLiteral(archivedSchema);
            string role = PgIdentifier.QuoteLiteral(app);
            return $"""
                DO $do$ BEGIN
                    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = {schema}) THEN
                        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', {schema}, {role});
                        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', {schema}, {role});
                        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', {schema}, {role});
                    END IF;
                END $do$;
                """;
        }

        return string.Empty;
    }

    /// <summary>
    /// With tenant roles on, the app role reaches a tenant only through the tenant's role: any grant it holds on the
    /// schema itself (made while tenant roles were off) goes.
    /// </summary>
    private string RevokeDirectGrants(string quotedSchema) => owner.AppRole is { } app
        ? $"""
            REVOKE ALL ON ALL TABLES IN SCHEMA {quotedSchema} FROM {PgIdentifier.Quote(app)};
            REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quotedSchema} FROM {PgIdentifier.Quote(app)};
            REVOKE ALL ON SCHEMA {quotedSchema} FROM {PgIdentifier.Quote(app)};
            """
        : string.Empty;

    /// <summary>The comment marking a role as the one created for <paramref name="tenant"/>, as a SQL literal.</summary>
    private static string OwnerMark(string tenant) => PgIdentifier.QuoteLiteral($"tenant-saas: the role of tenant {tenant}");

    /// <summary>
    /// Grants the tenant's current tables and sequences (called after each migration, so new ones are covered), and
    /// keeps the migration history out of reach.
    /// </summary>
    public async Task GrantTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        string? grantee = _options.TenantRoles ? TenantRoleNames.NameFor(tenant, _options.TenantRolePrefix) : owner.AppRole;
        if (grantee is null)
        {
            return;
        }

        // Both names passed the allow-lists (no quotes in them); quoted and escaped anyway.
        string schema = PgIdentifier.Quote(tenant);
        string role = PgIdentifier.Quote(grantee);
        string roleLiteral = PgIdentifier.QuoteLiteral(grantee);
        // Not the shared schema: tenant roles reach it through PUBLIC, the app role through the catalog's grants.
        string sql = $"""
            GRANT USAGE ON SCHEMA {schema} TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
            DO $do$ BEGIN
                IF to_regclass(format('%I.%I', {PgIdentifier.QuoteLiteral(tenant)}, '__EFMigrationsHistory')) IS NOT NULL THEN
                    EXECUTE format('REVOKE ALL ON TABLE %I.%I FROM %I', {PgIdentifier.QuoteLiteral(tenant)}, '__EFMigrationsHistory', {roleLiteral});
                END IF;
            END $do$;
            """;
        if (_options.TenantRoles)
        {
            // Roles are cluster-wide, and another database may create the same one at the same moment. Within this
            // database, role DDL is serialised (a transaction lock: the statements below run as one implicit
            // transaction): parallel migration passes granting roles to the same app role otherwise collide on its
            // membership rows ("tuple concurrently updated") faster than retries absorb.
            // A role is granted only when its comment marks it as this tenant's (marks, like roles, are cluster-wide:
            // the same tenant name in another database shares it); any other role of that name fails the migration.
            // The shared schema comes through PUBLIC (SharedSchemaGrants).
            // On Citus the coordinator opens its connections to the workers as the role a query runs as, so there a
            // tenant role must be able to log in. It has no password: nothing logs in as it unless the cluster's
            // authentication lets the coordinator in (pg_dist_authinfo, or trust from the coordinator alone).
            string mark = OwnerMark(tenant);
            sql = $"""
                SELECT pg_advisory_xact_lock({RoleLockKey});
                DO $do$ DECLARE
                    existing oid;
                    login boolean := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus');
                BEGIN
                    SELECT oid INTO existing FROM pg_roles WHERE rolname = {roleLiteral};
                    IF existing IS NULL THEN
                        BEGIN
                            EXECUTE format('CREATE ROLE %I %s NOINHERIT', {roleLiteral}, CASE WHEN login THEN 'LOGIN' ELSE 'NOLOGIN' END);
                            COMMENT ON ROLE {role} IS {mark};
                            RETURN;
                        EXCEPTION WHEN duplicate_object OR unique_violation THEN
                            SELECT oid INTO existing FROM pg_roles WHERE rolname = {roleLiteral};
                        END;
                    END IF;

                    IF shobj_description(existing, 'pg_authid') IS DISTINCT FROM {mark} THEN
                        RAISE EXCEPTION 'Role % already exists and was not created for tenant %: it gets none of the tenant''s privileges.', {roleLiteral}, {PgIdentifier.QuoteLiteral(tenant)}
                            USING ERRCODE = 'duplicate_object',
                                  HINT = 'Give each app on the cluster a Tenancy:TenantRolePrefix of its own, or drop the role if it is a leftover.';
                    END IF;

                    IF login AND NOT (SELECT rolcanlogin FROM pg_roles WHERE oid = existing) THEN
                        EXECUTE format('ALTER ROLE %I LOGIN', {roleLiteral}); -- made before Citus came
                    END IF;
                END $do$;
                {sql}
                GRANT {role} TO CURRENT_USER{(owner.AppRole is { } app ? $", {PgIdentifier.Quote(app)}" : string.Empty)};
                {RevokeDirectGrants(schema)}
                """;
        }

        // Concurrent grants on one cluster-wide role can collide ("tuple concurrently updated"): a retry settles it.
        // Npgsql closes a connection after that internal error, so each attempt takes a fresh one.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await using NpgsqlCommand command = owner.Source.CreateCommand(sql);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException e) when (attempt < 5 && e.SqlState is PostgresErrorCodes.InternalError or PostgresErrorCodes.UniqueViolation)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

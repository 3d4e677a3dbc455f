using Npgsql;

namespace Tenants.Shared.Security;

/// <summary>
/// Refuses an app role the isolation guarantees do not hold for: a superuser bypasses every grant, a role with INHERIT
/// holds the privileges of every tenant role it is a member of even outside a scope, and a role that may create objects
/// in schema public or temporary tables creates what no migration made (a temporary table comes first on every
/// search path, ahead of the tenant's own).
/// </summary>
public static class AppRoleCheck
{
    /// <summary>
    /// Whether the role of <paramref name="connectionString"/> owns the shared schema or, before the catalog exists, the
    /// database: the app is then its own owner, as in a single-role setup.
    /// </summary>
    public static async Task<bool> OwnsCatalogAsync(string connectionString, string sharedSchema, CancellationToken cancellationToken = default)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Enlist = false };
        await using var connection = new NpgsqlConnection(settings.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            SELECT COALESCE((SELECT nspowner FROM pg_namespace WHERE nspname = $1),
                            (SELECT datdba FROM pg_database WHERE datname = current_database()))
                   = (SELECT oid FROM pg_roles WHERE rolname = current_user)
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = sharedSchema });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Logs in with <paramref name="connectionString"/> (a session of its own, not from a pool) and throws
    /// <see cref="InvalidOperationException"/> naming the role, what is wrong and the statements that fix it (never the
    /// password) when the role is a superuser or INHERIT, or may create temporary tables or objects in schema public.
    /// </summary>
    public static async Task EnsureLeastPrivilegedAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Enlist = false };
        await using var connection = new NpgsqlConnection(settings.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            SELECT current_user, current_database(), r.rolsuper, r.rolinherit,
                   has_database_privilege(current_database(), 'TEMPORARY'),
                   EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = 'public' AND has_schema_privilege(n.oid, 'CREATE'))
            FROM pg_roles r WHERE r.rolname = current_user
            """,
            connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        (string role, string database) = (PgIdentifier.Quote(reader.GetString(0)), PgIdentifier.Quote(reader.GetString(1)));
        List<string> problems = [], fixes = [];
        if (reader.GetBoolean(2) || reader.GetBoolean(3))
        {
            problems.Add(reader.GetBoolean(2) ? "is a superuser, which bypasses every grant" : "has INHERIT, so it holds every tenant role's privileges even outside a scope");
            fixes.Add($"ALTER ROLE {role} NOSUPERUSER NOINHERIT;");
        }

        if (reader.GetBoolean(4))
        {
            problems.Add($"may create temporary tables in database {database}");
            fixes.Add($"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC, {role};");
        }

        if (reader.GetBoolean(5))
        {
            problems.Add("may create objects in schema public");
            fixes.Add($"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {role};");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                $"The app role {role} of the connection string '{ConnectionDescription.Of(settings)}' {string.Join("; ", problems)}. " +
                $"Tenant isolation assumes an app role that is no superuser, NOINHERIT, and creates nothing. As a superuser, run: {string.Join(" ", fixes)} " +
                "See README.md, Security.");
        }
    }
}

using Npgsql;

namespace Postgres.Testing;

/// <summary>
/// The app's two logins in a test database, as the AppHost's roles.psql and database.psql set them up: the owner owns
/// the database (so it creates the shared and tenant schemas), creates the tenant roles (<c>CREATEROLE</c>) and is no
/// superuser; the app role is no superuser, <c>NOINHERIT</c>, and creates nothing. Roles are cluster-wide: each test
/// names its own (<see cref="NewRoleName"/>). Every statement runs as the superuser the given connection string logs in as.
/// </summary>
public static class AppLogins
{
    /// <summary>A role name no other test uses: <paramref name="prefix"/>, <c>_</c> and hex digits, 16 characters.</summary>
    public static string NewRoleName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..16];

    /// <summary>Creates the app role <paramref name="role"/>: a login that is no superuser, <c>NOINHERIT</c>, creating no databases or roles.</summary>
    public static Task CreateAppRoleAsync(string superuserConnectionString, string role, CancellationToken cancellationToken) =>
        ExecuteAsync(superuserConnectionString, $"CREATE ROLE {Quote(role)} WITH LOGIN NOSUPERUSER NOINHERIT NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS", cancellationToken);

    /// <summary>Creates the owner role <paramref name="role"/>: a login that may create roles and is no superuser.</summary>
    public static Task CreateOwnerRoleAsync(string superuserConnectionString, string role, CancellationToken cancellationToken) =>
        ExecuteAsync(superuserConnectionString, $"CREATE ROLE {Quote(role)} WITH LOGIN NOSUPERUSER INHERIT CREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS", cancellationToken);

    /// <summary>
    /// Hands the database <paramref name="superuserConnectionString"/> names to <paramref name="ownerRole"/> and takes
    /// <c>CREATE</c> on <c>public</c> and <c>TEMP</c> from PUBLIC (every role holds what PUBLIC does); returns the
    /// owner's connection string to it.
    /// </summary>
    public static async Task<string> OwnDatabaseAsync(string superuserConnectionString, string ownerRole, CancellationToken cancellationToken)
    {
        var database = new NpgsqlConnectionStringBuilder(superuserConnectionString);
        string name = Quote(database.Database!);
        await ExecuteAsync(
            superuserConnectionString,
            $"ALTER DATABASE {name} OWNER TO {Quote(ownerRole)}; REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC",
            cancellationToken).ConfigureAwait(false);
        database.Username = ownerRole;
        return database.ConnectionString;
    }

    /// <summary>
    /// Fresh app and owner roles for the database <paramref name="superuserConnectionString"/> names, the owner owning
    /// it; their connection strings to it.
    /// </summary>
    public static async Task<(string App, string Owner)> CreateAsync(string superuserConnectionString, CancellationToken cancellationToken)
    {
        string app = NewRoleName("app"), owner = NewRoleName("own");
        await CreateAppRoleAsync(superuserConnectionString, app, cancellationToken).ConfigureAwait(false);
        await CreateOwnerRoleAsync(superuserConnectionString, owner, cancellationToken).ConfigureAwait(false);
        string ownerConnectionString = await OwnDatabaseAsync(superuserConnectionString, owner, cancellationToken).ConfigureAwait(false);
        return (new NpgsqlConnectionStringBuilder(superuserConnectionString) { Username = app }.ConnectionString, ownerConnectionString);
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // PostgreSQL's identifier quoting (test infrastructure does not reference the app's PgIdentifier).
    internal static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

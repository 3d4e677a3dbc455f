using Npgsql;

namespace Tenants.Shared.Routing;

/// <summary>
/// Refuses a connection string whose sessions do not behave as tenant routing assumes. Routing is session state
/// (<c>SET search_path</c>, <c>SET ROLE</c>, undone by the pool reset) and the migrator's lock is a session advisory
/// lock. A pooler in transaction or statement mode (PgBouncer's <c>pool_mode</c>) hands each
/// transaction whichever server session is free, so one client's SET would route another client's queries. And a
/// pooler that drops the <c>search_path</c> startup parameter (PgBouncer's <c>ignore_startup_parameters</c>) leaves
/// the session default, which the pool reset returns to, somewhere other than the shared schema.
/// </summary>
public static class SessionPoolingCheck
{
    // Each round is a chance to see the pooler move a session; the first round sees it unless another client of the
    // same pool takes the released server in between.
    private const int Rounds = 3;

    /// <summary>
    /// Opens two sessions of its own with <paramref name="connectionString"/>'s settings (not from the app's pool, which
    /// may hold a single connection) and throws <see cref="InvalidOperationException"/> when statements of one client
    /// session run in different server sessions, when two client sessions share one, or when the session default
    /// search_path is not <paramref name="sharedSchema"/> alone. A few round trips; never fails on a direct connection,
    /// where a session is one server process for its life and two open sessions are two processes.
    /// </summary>
    /// <param name="connectionString">The app's or the owner's connection string.</param>
    /// <param name="sharedSchema">The shared schema, which the session default search_path must be.</param>
    /// <param name="which">Names the connection string in messages ("connection string", "owner connection string").</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    public static async Task EnsureSessionStateAsync(string connectionString, string sharedSchema, string which, CancellationToken cancellationToken = default)
    {
        NpgsqlDataSourceBuilder builder = ResettingDataSource.Builder(connectionString, sharedSchema, which);
        builder.ConnectionStringBuilder.Pooling = false;
        builder.ConfigureTypeLoading(t => t.EnableTypeLoading(false)); // int, text and bool need no type catalog: a round trip less
        await using NpgsqlDataSource source = builder.Build();

        await using NpgsqlConnection first = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        (int pid, string searchPath, bool sharedOnly) = await SessionAsync(first, sharedSchema, cancellationToken).ConfigureAwait(false);

        // The second session stays open while the first is idle between statements: a session pooler gives it a server
        // of its own; a transaction or statement pooler gives it the server the first one just released (PgBouncer
        // reuses the most recently released), and gives the first one whichever is free next.
        await using NpgsqlConnection second = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        for (int round = 0; round < Rounds; round++)
        {
            int other = await PidAsync(second, cancellationToken).ConfigureAwait(false);
            int again = await PidAsync(first, cancellationToken).ConfigureAwait(false);
            if (other == pid || other == again || again != pid)
            {
                throw new InvalidOperationException(
                    $"A connection pooler in transaction or statement mode (PgBouncer's pool_mode, or another pooler) was detected on the {which} " +
                    $"'{ConnectionDescription.Of(builder.ConnectionStringBuilder)}': one client session ran on server processes {pid} and {again}, another on {other}. " +
                    "Tenant routing needs session state (SET search_path and SET ROLE, undone by the pool reset), and the migrator's lock is a " +
                    "session advisory lock; neither survives such a pooler, and one tenant's routing would reach another's queries. " +
                    "Set pool_mode = session, or connect to PostgreSQL directly. See README.md, Security.");
            }
        }

        if (!sharedOnly)
        {
            throw new InvalidOperationException(
                $"The session default search_path on the {which} '{ConnectionDescription.Of(builder.ConnectionStringBuilder)}' is '{searchPath}', not the shared " +
                $"schema {PgIdentifier.Quote(sharedSchema)} alone: something between the app and PostgreSQL dropped the search_path startup " +
                "parameter (PgBouncer does with ignore_startup_parameters = search_path). The pool reset returns every connection to that " +
                "default, so outside a tenant scope names would resolve there. Give the login role the default itself: " +
                $"ALTER ROLE {PgIdentifier.Quote(builder.ConnectionStringBuilder.Username ?? "<role>")} IN DATABASE " +
                $"{PgIdentifier.Quote(builder.ConnectionStringBuilder.Database ?? "<database>")} SET search_path = {PgIdentifier.Quote(sharedSchema)}, " +
                "then let the pooler open new server sessions (PgBouncer: RECONNECT on its admin console). See README.md, Security.");
        }
    }

    private static async Task<(int Pid, string SearchPath, bool SharedOnly)> SessionAsync(NpgsqlConnection connection, string sharedSchema, CancellationToken cancellationToken)
    {
        // Npgsql sends the shared schema quoted; a role default set with ALTER ROLE reads back as quote_ident made it.
        await using NpgsqlCommand command = new(
            "SELECT pg_backend_pid(), current_setting('search_path'), current_setting('search_path') IN (quote_ident($1), $2)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = sharedSchema });
        command.Parameters.Add(new NpgsqlParameter { Value = PgIdentifier.Quote(sharedSchema) });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetInt32(0), reader.GetString(1), reader.GetBoolean(2));
    }

    private static async Task<int> PidAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = new("SELECT pg_backend_pid()", connection);
        return (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}

using Npgsql;

namespace Tenants.Shared;

/// <summary>
/// How every pool of the tenancy core is built: the pool reset on, no enlisting, the shared schema as the session
/// default.
/// </summary>
internal static class ResettingDataSource
{
    public static NpgsqlDataSourceBuilder Builder(string connectionString, string sharedSchema, string which)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.NoResetOnClose)
        {
            // Without the pool reset a session's search_path or role would reach the connection's next user.
            throw new NotSupportedException($"'No Reset On Close=true' would leak one session's search_path to the next; remove it from the {which}.");
        }

        if (builder.ConnectionStringBuilder.Multiplexing)
        {
            // Multiplexing runs a connection's commands on whichever physical connection is free: a session SET would
            // route another caller's queries, and the pool reset would not run between them.
            throw new NotSupportedException($"'Multiplexing=true' would run one tenant's commands in another's session; remove it from the {which}.");
        }

        // Enlisted in an ambient transaction, a connection closed inside it skips the pool reset (AmbientTransactions).
        builder.ConnectionStringBuilder.Enlist = false;

        // The session default is the shared schema alone; the pool reset returns every connection to it.
        builder.ConnectionStringBuilder.SearchPath = PgIdentifier.Quote(sharedSchema);
        return builder;
    }
}

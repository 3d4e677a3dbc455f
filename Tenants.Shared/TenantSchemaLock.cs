using Npgsql;

namespace Tenants.Shared;

/// <summary>
/// The session advisory lock on one tenant's schema. Migrating, moving and deleting a tenant all hold it, so
/// that none sees another half done; an operator's job (a backup, a data fix) may hold it to keep them away.
/// Take it on a dedicated connection (<see cref="HoldAsync"/>): a session lock outlives Close() on a pooled connection
/// until that connection's reuse, so it is released explicitly.
/// </summary>
public static class TenantSchemaLock
{
    // Prefixed so that the application's own advisory locks never collide with ours. $1 is the tenant's name.
    public const string LockSql = "SELECT pg_advisory_lock(hashtextextended('tenant-saas/migrate/' || $1, 0))";
    public const string UnlockSql = "SELECT pg_advisory_unlock(hashtextextended('tenant-saas/migrate/' || $1, 0))";

    /// <summary>Waits for <paramref name="tenant"/>'s lock on <paramref name="connection"/>; disposing the result releases it.</summary>
    public static async Task<IAsyncDisposable> HoldAsync(NpgsqlConnection connection, string tenant, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, LockSql, tenant, cancellationToken).ConfigureAwait(false);
        return new Held(connection, tenant);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, string tenant, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private sealed class Held(NpgsqlConnection connection, string tenant) : IAsyncDisposable
    {
        // A broken connection has ended its session, and the lock with it; the error that broke it is what matters.
        public async ValueTask DisposeAsync()
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await ExecuteAsync(connection, UnlockSql, tenant, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}

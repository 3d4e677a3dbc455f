namespace Tenants.Shared;

/// <summary>
/// The session advisory lock on one tenant's schema. Migrating and deleting a tenant both hold it, so
/// that neither sees the other half done; an operator's job (a backup, a data fix) may hold it to keep both away.
/// Take it on a dedicated connection and release it in <c>finally</c>: a session lock outlives Close() on a pooled
/// connection until that connection's reuse.
/// </summary>
public static class TenantSchemaLock
{
    // Prefixed so that the application's own advisory locks never collide with ours. $1 is the tenant's name.
    public const string LockSql = "SELECT pg_advisory_lock(hashtextextended('tenant-saas/migrate/' || $1, 0))";
    public const string UnlockSql = "SELECT pg_advisory_unlock(hashtextextended('tenant-saas/migrate/' || $1, 0))";
}

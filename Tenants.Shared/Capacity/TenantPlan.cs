namespace Tenants.Shared.Capacity;

/// <summary>
/// One plan's limits on each of its tenants, bound from <c>Tenancy:Plans:{name}</c>: how fast and how many requests at
/// once a tenant may send, and how much of the database it may hold, so that one busy tenant never takes the service
/// from the others.
/// </summary>
public sealed class TenantPlan
{
    /// <summary>Requests a tenant may start per second, sustained (a token bucket refilled at this rate).</summary>
    public double RequestsPerSecond { get; set; } = 100;

    /// <summary>Requests a tenant may start at once after a quiet spell (the bucket's size).</summary>
    public int Burst { get; set; } = 200;

    /// <summary>Requests of one tenant in progress at once; more are refused at once, not queued.</summary>
    public int ConcurrentRequests { get; set; } = 32;

    /// <summary>
    /// Connections of the main pool that serve one tenant at once, in every tenant scope of a process (requests and
    /// background jobs alike). Keep it well below the pool's size (Npgsql's default: 100) so that the other tenants
    /// always find one.
    /// </summary>
    public int ConcurrentConnections { get; set; } = 10;

    /// <summary>How long work of a tenant at its <see cref="ConcurrentConnections"/> waits for one of them before it is refused.</summary>
    public TimeSpan ConnectionWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// PostgreSQL's <c>statement_timeout</c> for the tenant's statements: a runaway query is cancelled rather than hold
    /// its connection. Zero leaves the server's setting. Migrations, run by the schema owner, are not bound by it.
    /// </summary>
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

namespace Tenants.Shared.Capacity;

/// <summary>
/// One plan's limits on each of its tenants, bound from <c>Tenancy:Plans:{name}</c>: how fast and how many requests at
/// once a tenant may send, so that one busy tenant never takes the service from the others.
/// </summary>
public sealed class TenantPlan
{
    /// <summary>Requests a tenant may start per second, sustained (a token bucket refilled at this rate).</summary>
    public double RequestsPerSecond { get; set; } = 100;

    /// <summary>Requests a tenant may start at once after a quiet spell (the bucket's size).</summary>
    public int Burst { get; set; } = 200;

    /// <summary>Requests of one tenant in progress at once; more are refused at once, not queued.</summary>
    public int ConcurrentRequests { get; set; } = 32;
}

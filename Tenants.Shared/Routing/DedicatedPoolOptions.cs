namespace Tenants.Shared.Routing;

/// <summary>
/// Pools of their own for the busiest tenants (<c>Tenancy:DedicatedPools</c>): a connection from a tenant's pool is
/// routed by its startup parameters, so it runs no routing statement. Open connections stay bounded by configuration:
/// at most the main pool's Max Pool Size plus <see cref="Tenants"/> × <see cref="PoolSize"/>, whatever the tenant count.
/// </summary>
public sealed class DedicatedPoolOptions
{
    /// <summary>How many tenants may have a pool of their own at once; 0 turns dedicated pools off.</summary>
    public int Tenants { get; set; } = 4;

    /// <summary>Max Pool Size of each dedicated pool. A context created when its tenant's pool is full uses the main pool.</summary>
    public int PoolSize { get; set; } = 16;

    /// <summary>The traffic of each window decides which tenants hold a pool during the next one.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A tenant gets a pool once it created at least this share of the window's tenant-scoped EF Core contexts; it
    /// keeps it while its share stays above half of this, so that a tenant near the threshold does not flap.
    /// </summary>
    public double MinShare { get; set; } = 0.1;

    /// <summary>
    /// And at least this many contexts per second: below that, a pool's idle connections cost the server more than
    /// the routing statements they save.
    /// </summary>
    public double MinRate { get; set; } = 10;
}

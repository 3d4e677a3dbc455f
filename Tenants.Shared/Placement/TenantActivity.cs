namespace Tenants.Shared.Placement;

/// <summary>
/// One tenant's load on a Citus cluster, from <c>citus_stat_tenants</c>: queries and CPU seconds in the current
/// period (<c>citus.stat_tenants_period</c>, a minute by default) and in the one before.
/// </summary>
public sealed record TenantActivity(string Tenant, int Queries, int QueriesLastPeriod, double CpuSeconds, double CpuSecondsLastPeriod);

namespace Tenants.Shared.Capacity;

/// <summary>
/// A tenant's work found every connection its plan allows in use, and none came free within the plan's wait. Only that
/// tenant is refused: the other tenants' work still gets connections. Worth retrying shortly.
/// </summary>
public sealed class TenantBusyException(string tenant, int connections, TimeSpan waited)
    : Exception($"Tenant '{tenant}' has all {connections} of its connections in use (its plan's ConcurrentConnections); none came free within {waited.TotalSeconds:0.###} s.")
{
    public string Tenant { get; } = tenant;

    public int Connections { get; } = connections;
}

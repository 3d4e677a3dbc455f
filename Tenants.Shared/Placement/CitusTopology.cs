namespace Tenants.Shared.Placement;

/// <summary>
/// A Citus cluster as the app's database sees it: the workers that may hold tenants, and whether schema-based sharding
/// is on (each new tenant's schema then goes to a worker; off, tenants stay on the coordinator).
/// </summary>
public sealed record CitusTopology(IReadOnlyList<TenantNode> Workers, bool SchemaSharding)
{
    public override string ToString() =>
        $"{Workers.Count} worker(s): {string.Join(", ", Workers)}; schema-based sharding {(SchemaSharding ? "on" : "off")}";
}

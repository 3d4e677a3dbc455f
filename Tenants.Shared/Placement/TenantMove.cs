namespace Tenants.Shared.Placement;

/// <summary>What <see cref="TenantPlacement.MoveAsync"/> did: the tenant's node before and after, and whether it moved.</summary>
public sealed record TenantMove(string Tenant, TenantNode From, TenantNode To, bool Moved, TimeSpan Elapsed);

namespace Saas.Api.Tenancy;

/// <summary>Marks an endpoint as working on one tenant's data: the request must resolve a tenant to reach it.</summary>
public sealed class TenantScopedMetadata;

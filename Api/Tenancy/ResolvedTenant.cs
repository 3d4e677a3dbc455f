using Tenants.Shared.Catalog;

namespace Saas.Api.Tenancy;

/// <summary>The request's tenant as resolution found it, and the plan it is served on; a feature of the request.</summary>
public sealed record ResolvedTenant(TenantRecord Record, string Plan);

using Microsoft.AspNetCore.Builder;

namespace Saas.Api.Tenancy;

public static class TenantEndpointConventions
{
    public const string MemberPolicy = "TenantMember";
    public const string AdminPolicy = "Admin";
    public const string AdminRole = "admin";

    /// <summary>
    /// The endpoints work inside the request's tenant: resolution must succeed (else 400/403/404) and the caller must
    /// be entitled to the tenant.
    /// </summary>
    public static TBuilder RequireTenant<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new TenantScopedMetadata()).RequireAuthorization(MemberPolicy);
}

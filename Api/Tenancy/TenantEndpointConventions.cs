using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace Saas.Api.Tenancy;

public static class TenantEndpointConventions
{
    public const string MemberPolicy = "TenantMember";
    public const string AdminPolicy = "Admin";
    public const string AdminRole = "admin";

    /// <summary>
    /// The endpoints work inside the request's tenant: resolution must succeed (else 400/403/404) and the caller must
    /// be entitled to the tenant. With <see cref="TenantResolutionOptions.RequireAuthenticatedMember"/> on, they also
    /// require an authenticated caller (<see cref="MemberPolicy"/>); off (demos), they carry no policy at all, since
    /// one that lets everyone through would still be evaluated on every request.
    /// </summary>
    public static TBuilder RequireTenant<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new TenantScopedMetadata());
        builder.Add(endpoint =>
        {
            if (endpoint.ApplicationServices.GetRequiredService<IOptions<TenantResolutionOptions>>().Value.RequireAuthenticatedMember)
            {
                endpoint.Metadata.Add(new AuthorizeAttribute(MemberPolicy));
            }
        });
        return builder;
    }
}

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Saas.Api.Tenancy;

/// <summary>Reads the tenant from a route value, as in <c>/t/{tenant}/articles</c>.</summary>
public sealed class RouteStrategy(IOptions<TenantResolutionOptions> options) : ITenantResolutionStrategy
{
    public string Name => "route";

    public string? Resolve(HttpContext context) => context.GetRouteValue(options.Value.RouteParameter) as string;
}

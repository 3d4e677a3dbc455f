using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Saas.Api.Tenancy;

/// <summary>Reads the tenant from a header, <c>X-Tenant</c> by default.</summary>
public sealed class HeaderStrategy(IOptions<TenantResolutionOptions> options) : ITenantResolutionStrategy
{
    public string Name => "header";

    public string? Resolve(HttpContext context)
    {
        StringValues values = context.Request.Headers[options.Value.HeaderName];

        // Two values are ambiguous: joined, they fail validation and the caller gets a 400, never a guess.
        return values.Count == 0 ? null : values.ToString();
    }
}

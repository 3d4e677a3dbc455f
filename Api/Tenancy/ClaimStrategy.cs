using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Saas.Api.Tenancy;

/// <summary>Reads the tenant from the authenticated caller's tenant claim, when it holds exactly one.</summary>
public sealed class ClaimStrategy(IOptions<TenantResolutionOptions> options) : ITenantResolutionStrategy
{
    public string Name => "claim";

    public string? Resolve(HttpContext context)
    {
        if (context.User.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        // A caller entitled to several tenants must say which one it means (route, host or header).
        string[] tenants = [.. context.User.FindAll(options.Value.ClaimType).Select(c => c.Value)];
        return tenants.Length == 1 ? tenants[0] : null;
    }
}

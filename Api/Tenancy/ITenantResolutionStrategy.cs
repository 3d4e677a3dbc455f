using Microsoft.AspNetCore.Http;

namespace Saas.Api.Tenancy;

/// <summary>One way to read a tenant name off a request. It only reads: validation and look-up happen after.</summary>
public interface ITenantResolutionStrategy
{
    /// <summary>The name configuration uses for it: claim, route, host or header.</summary>
    string Name { get; }

    /// <summary>The raw tenant name this request carries, or null when it carries none this strategy can see.</summary>
    string? Resolve(HttpContext context);
}

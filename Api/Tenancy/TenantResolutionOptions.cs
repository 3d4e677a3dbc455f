namespace Saas.Api.Tenancy;

/// <summary>How the Api finds the tenant of a request. Bound from <c>Tenancy:Resolution</c>.</summary>
public sealed class TenantResolutionOptions
{
    public const string SectionName = "Tenancy:Resolution";

    /// <summary>The strategies to run, in order; the first that yields a name wins. Any of: claim, route, host, header.</summary>
    public List<string> Strategies { get; set; } = ["claim", "route", "host", "header"];

    /// <summary>The host strategy's pattern: <c>{tenant}</c> stands for one DNS label.</summary>
    public string HostPattern { get; set; } = "{tenant}.localhost";

    public string HeaderName { get; set; } = "X-Tenant";

    /// <summary>The route value that names the tenant, as in <c>/t/{tenant}/articles</c>.</summary>
    public string RouteParameter { get; set; } = "tenant";

    /// <summary>The claim of an authenticated caller that names the tenant(s) it belongs to.</summary>
    public string ClaimType { get; set; } = "tenant";

    /// <summary>
    /// Secure by default: tenant-scoped endpoints need an authenticated caller entitled to the tenant. Set false only
    /// for a demo; a caller who does hold a tenant claim is still held to it.
    /// </summary>
    public bool RequireAuthenticatedMember { get; set; } = true;
}

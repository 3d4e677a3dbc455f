namespace Saas.Api.Tenancy;

/// <summary>How the Api finds the tenant of a request. Bound from <c>Tenancy:Resolution</c>.</summary>
public sealed class TenantResolutionOptions
{
    public const string SectionName = "Tenancy:Resolution";

    /// <summary>The order used when configuration names no strategy.</summary>
    public static readonly IReadOnlyList<string> DefaultStrategies = ["claim", "route", "host", "header"];

    /// <summary>
    /// The strategies to run, in order; the first that yields a name wins. Any of: claim, route, host, header; empty
    /// means <see cref="DefaultStrategies"/>. Empty by default because configuration binding appends to a list that
    /// already holds items: a default here would run before every configured order.
    /// </summary>
    public List<string> Strategies { get; set; } = [];

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

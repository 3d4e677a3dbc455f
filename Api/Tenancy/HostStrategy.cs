using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Saas.Api.Tenancy;

/// <summary>Reads the tenant from the host, by a pattern such as <c>{tenant}.example.com</c>.</summary>
public sealed class HostStrategy : ITenantResolutionStrategy
{
    private readonly Regex _pattern;

    public HostStrategy(IOptions<TenantResolutionOptions> options)
    {
        // The pattern was validated at startup (TenantResolutionOptionsValidator). The tenant is one whole DNS label; the rest of the pattern matches literally, without case.
        _pattern = new Regex(
            "^" + Regex.Escape(options.Value.HostPattern).Replace(@"\{tenant}", "(?<tenant>[^.]+)", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant,
            TimeSpan.FromMilliseconds(100));
    }

    public string Name => "host";

    public string? Resolve(HttpContext context)
    {
        Match match = _pattern.Match(context.Request.Host.Host);
        return match.Success ? match.Groups["tenant"].Value : null;
    }
}

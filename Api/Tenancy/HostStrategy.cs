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
        string pattern = options.Value.HostPattern;
        if (!pattern.Contains("{tenant}", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{TenantResolutionOptions.SectionName}:HostPattern must contain {{tenant}}; it is '{pattern}'.");
        }

        // The tenant is one whole DNS label; the rest of the pattern matches literally, without case.
        _pattern = new Regex(
            "^" + Regex.Escape(pattern).Replace(@"\{tenant}", "(?<tenant>[^.]+)", StringComparison.Ordinal) + "$",
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

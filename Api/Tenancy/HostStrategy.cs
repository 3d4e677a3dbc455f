using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Saas.Api.Tenancy;

/// <summary>
/// Reads the tenant from the host, by a pattern such as <c>{tenant}.example.com</c>: the text around <c>{tenant}</c>
/// matches literally, without case, and the tenant is one whole DNS label. Plain string comparisons, not a regular
/// expression: every request to a tenant endpoint runs every strategy.
/// </summary>
public sealed class HostStrategy : ITenantResolutionStrategy
{
    /// <summary>Where the tenant stands in the host pattern.</summary>
    internal const string Placeholder = "{tenant}";

    private readonly string _prefix;
    private readonly string _suffix;

    public HostStrategy(IOptions<TenantResolutionOptions> options)
    {
        // The pattern was validated at startup (TenantResolutionOptionsValidator): exactly one {tenant}.
        string pattern = options.Value.HostPattern;
        int at = pattern.IndexOf(Placeholder, StringComparison.Ordinal);
        (_prefix, _suffix) = (pattern[..at], pattern[(at + Placeholder.Length)..]);
    }

    public string Name => "host";

    public string? Resolve(HttpContext context)
    {
        string host = context.Request.Host.Host;
        if (host.Length <= _prefix.Length + _suffix.Length
            || !host.StartsWith(_prefix, StringComparison.OrdinalIgnoreCase)
            || !host.EndsWith(_suffix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        ReadOnlySpan<char> label = host.AsSpan(_prefix.Length, host.Length - _prefix.Length - _suffix.Length);
        return label.Contains('.') ? null : label.ToString();
    }
}

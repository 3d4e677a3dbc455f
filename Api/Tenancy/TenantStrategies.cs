using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Saas.Api.Tenancy;

/// <summary>The configured strategies, in their configured order.</summary>
public sealed class TenantStrategies
{
    private readonly ITenantResolutionStrategy[] _ordered;

    public TenantStrategies(IEnumerable<ITenantResolutionStrategy> available, IOptions<TenantResolutionOptions> options)
    {
        // The names were validated at startup (TenantResolutionOptionsValidator).
        Dictionary<string, ITenantResolutionStrategy> byName = available.ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);
        _ordered = [.. options.Value.Strategies.Select(name => byName[name])];
    }

    /// <summary>Every name the request carries, by strategy order: the first is the one that wins.</summary>
    public List<string> Resolve(HttpContext context)
    {
        var names = new List<string>(_ordered.Length);
        foreach (ITenantResolutionStrategy strategy in _ordered)
        {
            if (strategy.Resolve(context) is { } name)
            {
                names.Add(name);
            }
        }

        return names;
    }
}

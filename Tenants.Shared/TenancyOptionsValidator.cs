using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tenants.Shared;

/// <summary>The shared schema's name obeys the tenant-name rules (bar clashing with itself), and is never <c>public</c>.</summary>
internal sealed partial class TenancyOptionsValidator : IValidateOptions<TenancyOptions>
{
    public ValidateOptionsResult Validate(string? name, TenancyOptions options)
    {
        // Checked against an impossible shared name so that only the general rules apply.
        string? problem = TenantNames.Problem(options.SharedSchema, sharedSchema: string.Empty);
        if (problem is not null)
        {
            return ValidateOptionsResult.Fail($"Tenancy:SharedSchema '{options.SharedSchema}': {problem}");
        }

        if (options.RegistryCacheDuration < TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail("Tenancy:RegistryCacheDuration must not be negative.");
        }

        if (DedicatedPoolsProblem(options.DedicatedPools) is { } pools)
        {
            return ValidateOptionsResult.Fail($"Tenancy:DedicatedPools: {pools}");
        }

        // A prefix leaves room for a name: the role's name is the prefix then the tenant (hashed when too long).
        return options.TenantRolePrefix is not { Length: >= 1 and <= 20 } prefix || !ValidPrefix().IsMatch(prefix)
            ? ValidateOptionsResult.Fail($"Tenancy:TenantRolePrefix '{options.TenantRolePrefix}': 1 to 20 characters, a lowercase letter first, then lowercase letters, digits or underscores.")
            : ValidateOptionsResult.Success;
    }

    private static string? DedicatedPoolsProblem(Routing.DedicatedPoolOptions pools) => pools switch
    {
        { Tenants: < 0 or > 64 } => $"Tenants is {pools.Tenants}; 0 (off) to 64.",
        { PoolSize: < 1 or > 100 } => $"PoolSize is {pools.PoolSize}; 1 to 100.",
        _ when pools.Window < TimeSpan.FromSeconds(1) => $"Window is {pools.Window}; at least 1 second.",
        _ when !(pools.MinShare is > 0 and <= 1) => $"MinShare is {pools.MinShare}; more than 0, at most 1.",
        _ when !(pools.MinRate >= 0) => $"MinRate is {pools.MinRate}; not negative.",
        _ => null,
    };

    [GeneratedRegex("^[a-z][a-z0-9_]*$")]
    private static partial Regex ValidPrefix();
}

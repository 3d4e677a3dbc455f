using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tenants.Shared;

/// <summary>The shared schema's name obeys the tenant-name rules (bar clashing with itself), and is never <c>public</c>.</summary>
internal sealed partial class TenancyOptionsValidator : IValidateOptions<TenancyOptions>
{
    // A wait longer than a request's patience holds the request for nothing; PostgreSQL takes a timeout up to int ms.
    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxStatementTimeout = TimeSpan.FromMilliseconds(int.MaxValue);

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

        if (PlansProblem(options) is { } plans)
        {
            return ValidateOptionsResult.Fail($"Tenancy:Plans: {plans}");
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

    private static string? PlansProblem(TenancyOptions options)
    {
        if (!options.Plans.ContainsKey(options.DefaultPlan))
        {
            return $"the default plan '{options.DefaultPlan}' (Tenancy:DefaultPlan) is not among the plans ({string.Join(", ", options.Plans.Keys)}).";
        }

        foreach ((string name, Capacity.TenantPlan plan) in options.Plans)
        {
            string? problem = plan switch
            {
                _ when !Capacity.PlanNames.IsValid(name) => "a plan's name is 1 to 63 lowercase letters, digits, '-' or '_', a letter first.",
                _ when !(plan.RequestsPerSecond > 0) => $"RequestsPerSecond is {plan.RequestsPerSecond}; more than 0.",
                { Burst: < 1 } => $"Burst is {plan.Burst}; at least 1.",
                { ConcurrentRequests: < 1 } => $"ConcurrentRequests is {plan.ConcurrentRequests}; at least 1.",
                { ConcurrentConnections: < 1 } => $"ConcurrentConnections is {plan.ConcurrentConnections}; at least 1.",
                _ when plan.ConnectionWait < TimeSpan.Zero || plan.ConnectionWait > MaxWait => $"ConnectionWait is {plan.ConnectionWait}; 0 to {MaxWait}.",
                _ when plan.StatementTimeout < TimeSpan.Zero || plan.StatementTimeout > MaxStatementTimeout =>
                    $"StatementTimeout is {plan.StatementTimeout}; 0 (the server's setting) to {MaxStatementTimeout}.",
                _ => null,
            };
            if (problem is not null)
            {
                return $"'{name}': {problem}";
            }
        }

        return null;
    }

    [GeneratedRegex("^[a-z][a-z0-9_]*$")]
    private static partial Regex ValidPrefix();
}

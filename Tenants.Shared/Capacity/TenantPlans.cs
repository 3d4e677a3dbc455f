using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Catalog;

namespace Tenants.Shared.Capacity;

/// <summary>
/// Which plan each tenant is on, and its limits. The catalog names a tenant's plan (none: <see cref="TenancyOptions.DefaultPlan"/>);
/// configuration (<see cref="TenancyOptions.Plans"/>) gives each plan's limits, so a plan's limits change with a
/// deployment, a tenant's plan with <see cref="SetAsync"/>, announced to every process.
/// </summary>
public sealed partial class TenantPlans(TenantCatalog catalog, IOptionsMonitor<TenancyOptions> options, ILogger<TenantPlans> logger)
{
    // Tenants already warned about, so that a misconfigured plan logs once per tenant, not once per request.
    private readonly ConcurrentDictionary<(string Tenant, string Plan), bool> _warned = new();

    /// <summary>The name of the plan <paramref name="tenant"/> is on here: its own when configured, else the default.</summary>
    public string NameOf(TenantRecord tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return NameOf(tenant.Name, tenant.Plan);
    }

    /// <summary>
    /// The limits of the plan the registered <paramref name="tenant"/> is on, as the catalog named it at its last
    /// look-up (cached, as the registry's are).
    /// </summary>
    public TenantPlan LimitsOf(string tenant) => Limits(NameOf(tenant, catalog.PlanOf(tenant)));

    /// <summary>The limits of the plan <paramref name="name"/>, a name <see cref="NameOf(TenantRecord)"/> gave.</summary>
    public TenantPlan Limits(string name) => options.CurrentValue.Plans[name];

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="plan"/> is null (the default) or a configured plan.</summary>
    public void EnsureKnown(string? plan)
    {
        Dictionary<string, TenantPlan> plans = options.CurrentValue.Plans;
        if (plan is not null && !plans.ContainsKey(plan))
        {
            throw new ArgumentException($"No plan named '{plan}'; the plans are: {string.Join(", ", plans.Keys.Order(StringComparer.Ordinal))}."); // no parameter suffix: operators read it
        }
    }

    /// <summary>
    /// Puts <paramref name="tenant"/> on <paramref name="plan"/> (null: the default) as the schema owner. Null when there is no
    /// such tenant; a deleted one comes back unchanged.
    /// </summary>
    public async Task<TenantRecord?> SetAsync(string tenant, string? plan, CancellationToken cancellationToken = default)
    {
        TenantNames.EnsureValid(tenant, options.CurrentValue.SharedSchema);
        EnsureKnown(plan);
        await catalog.EnsureBootstrappedAsync(cancellationToken).ConfigureAwait(false);
        await using (NpgsqlCommand command = catalog.Owner.CreateCommand(catalog.Sql.SetPlan))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = tenant });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)plan ?? DBNull.Value });
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                TenantRecord updated = TenantCatalog.Read(reader);
                catalog.Forget(tenant);
                return updated;
            }
        }

        return await catalog.FindAsync(tenant, cancellationToken).ConfigureAwait(false);
    }

    private string NameOf(string tenant, string? plan)
    {
        TenancyOptions settings = options.CurrentValue;
        if (plan is null)
        {
            return settings.DefaultPlan;
        }

        if (settings.Plans.ContainsKey(plan))
        {
            return plan;
        }

        // A plan removed from configuration must not leave its tenants unlimited, nor unserved.
        if (_warned.TryAdd((tenant, plan), true))
        {
            LogUnknownPlan(tenant, plan, settings.DefaultPlan);
        }

        return settings.DefaultPlan;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant} is on plan {Plan}, which is not configured here; it gets the default plan {DefaultPlan}")]
    private partial void LogUnknownPlan(string tenant, string plan, string defaultPlan);
}

namespace Tenants.Shared;

/// <summary>Settings of the tenancy core, bound from the <c>Tenancy</c> configuration section.</summary>
public sealed class TenancyOptions
{
    public const string SectionName = "Tenancy";

    /// <summary>
    /// The schema that holds shared, cross-tenant tables (the tenant catalog among them). Not <c>public</c>:
    /// a migration run with a missing tenant schema would otherwise land tenant tables there.
    /// </summary>
    public string SharedSchema { get; set; } = "shared";

    /// <summary>
    /// How long the Api waits for the owner's process (the Worker) to migrate a new tenant or carry out an operator
    /// request before it answers 202 Accepted and leaves the rest to the Worker.
    /// </summary>
    public TimeSpan RequestWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a positive registry look-up is trusted before the catalog is asked again.</summary>
    public TimeSpan RegistryCacheDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Defence in depth, on by default: each tenant scope also switches its connections to a role that can use only
    /// that tenant's schema and the shared one. The migrator creates and grants the roles; the pool reset undoes the
    /// switch. Needs an owner that may create roles.
    /// </summary>
    public bool TenantRoles { get; set; } = true;

    /// <summary>
    /// Prefixes the per-tenant roles' names. Roles are cluster-wide: apps that share a PostgreSQL cluster need
    /// prefixes of their own.
    /// </summary>
    public string TenantRolePrefix { get; set; } = "tenant_";

    /// <summary>The plan of a tenant the catalog names no plan for; one of <see cref="Plans"/>.</summary>
    public string DefaultPlan { get; set; } = "standard";

    /// <summary>Each plan's limits by name; configuration adds plans or changes the default <c>standard</c> one.</summary>
    public Dictionary<string, Capacity.TenantPlan> Plans { get; set; } = new(StringComparer.Ordinal) { ["standard"] = new() };

    /// <summary>Pools of their own for the busiest tenants, in front of the main pool.</summary>
    public Routing.DedicatedPoolOptions DedicatedPools { get; set; } = new();
}

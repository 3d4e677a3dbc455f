namespace Tenants.Shared;

/// <summary>Settings of the tenancy core, bound from the <c>Tenancy</c> configuration section.</summary>
public sealed class TenancyOptions
{
    public const string SectionName = "Tenancy";

    /// <summary>
    /// The schema that holds shared, cross-tenant tables (the tenant catalog among them). Not <c>public</c>:
    /// a migration run with a missing tenant schema would otherwise land tenant tables there (DESIGN.md §3).
    /// </summary>
    public string SharedSchema { get; set; } = "shared";

    /// <summary>How long a positive registry look-up is trusted before the catalog is asked again.</summary>
    public TimeSpan RegistryCacheDuration { get; set; } = TimeSpan.FromSeconds(30);
}

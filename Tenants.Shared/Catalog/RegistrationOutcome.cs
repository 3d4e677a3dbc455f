namespace Tenants.Shared.Catalog;

/// <summary>What <see cref="ITenantCatalog.CreateAsync"/> did.</summary>
public enum RegistrationOutcome
{
    /// <summary>The tenant was added by this call.</summary>
    Created,

    /// <summary>The same tenant (same display name) was there already: nothing changed.</summary>
    AlreadyExists,

    /// <summary>A tenant of that name exists with different details: nothing changed.</summary>
    Conflict,

    /// <summary>A tenant of that name was deleted without releasing the name: nothing changed.</summary>
    Retired,
}

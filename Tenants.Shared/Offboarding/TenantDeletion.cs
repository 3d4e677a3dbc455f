namespace Tenants.Shared.Offboarding;

/// <summary>What <see cref="TenantOffboarding.DeleteAsync"/> did.</summary>
/// <param name="Name">The tenant asked for.</param>
/// <param name="Outcome">Whether it deleted, and why not when it did not.</param>
/// <param name="ArchivedAs">The schema the tenant's data now lives in; null when it was dropped (or nothing happened).</param>
/// <param name="NameReleased">Whether the catalog row is gone, so the name can be registered again.</param>
public sealed record TenantDeletion(string Name, DeletionOutcome Outcome, string? ArchivedAs, bool NameReleased);

/// <summary>The outcome of a deletion request.</summary>
public enum DeletionOutcome
{
    /// <summary>Deleted now, or already deleted (then only a requested release of the name happened).</summary>
    Deleted,

    /// <summary>No tenant of that name is in the catalog: nothing happened.</summary>
    NotFound,

    /// <summary>The tenant is active: it must be deactivated first. Nothing happened.</summary>
    StillActive,
}

namespace Tenants.Shared.Offboarding;

/// <summary>What deleting a tenant does with its schema.</summary>
public enum SchemaDisposal
{
    /// <summary>Renamed out of the tenants' namespace (<c>archived~{time}~{name}</c>), data kept, reachable by no tenant.</summary>
    Archive,

    /// <summary>Dropped with everything in it. Irreversible.</summary>
    Drop,
}

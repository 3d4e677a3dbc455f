namespace Tenants.Shared.Offboarding;

/// <summary>
/// An operator's request to change a tenant, as recorded in the catalog: who asked, what for, and, once the owner's
/// process has carried it out, how it ended. The requests table is also the audit trail of these changes.
/// </summary>
public sealed record TenantRequest(
    long Id,
    string Tenant,
    TenantRequestAction Action,
    SchemaDisposal? Disposal,
    bool ReleaseName,
    string RequestedBy,
    DateTimeOffset RequestedAt,
    TenantRequestState State,
    string? Outcome,
    string? ArchivedAs,
    DateTimeOffset? DoneAt,
    string? Plan = null);

/// <summary>What a request asks for.</summary>
public enum TenantRequestAction
{
    Deactivate,
    Reactivate,
    Delete,

    /// <summary>Puts the tenant on <see cref="TenantRequest.Plan"/> (null: the default plan).</summary>
    Plan,
}

/// <summary>Where a request stands. Stored as lowercase text.</summary>
public enum TenantRequestState
{
    /// <summary>Recorded; the owner's process has not carried it out yet.</summary>
    Pending,

    /// <summary>Carried out; <see cref="TenantRequest.Outcome"/> says the tenant's status now.</summary>
    Done,

    /// <summary>Not carried out, by the rules; <see cref="TenantRequest.Outcome"/> says which (<see cref="TenantRequestOutcomes"/>).</summary>
    Refused,

    /// <summary>Carrying it out failed; <see cref="TenantRequest.Outcome"/> holds the error.</summary>
    Failed,
}

/// <summary>The outcomes of refused requests.</summary>
public static class TenantRequestOutcomes
{
    public const string NotFound = "not-found";

    /// <summary>A delete of an active tenant: it must be deactivated first.</summary>
    public const string StillActive = "tenant-active";

    /// <summary>A status change of a deleted tenant, which stays deleted.</summary>
    public const string AlreadyDeleted = "tenant-deleted";
}

using Tenants.Shared.Catalog;
using Tenants.Shared.Offboarding;

namespace Saas.Api.Model;

/// <summary>What an operator sends to create a tenant.</summary>
public sealed record CreateTenantRequest(string? Name, string? DisplayName);

/// <summary>What an operator sends to change a tenant's plan; null puts it on the default plan.</summary>
public sealed record SetPlanRequest(string? Plan);

/// <summary>A tenant as the provisioning endpoints show it, state and last error included; <c>plan</c> null is the default plan.</summary>
public sealed record TenantResponse(
    string Name,
    string DisplayName,
    string State,
    string? LastMigration,
    int Attempts,
    string? LastError,
    DateTimeOffset RegisteredAt,
    DateTimeOffset UpdatedAt,
    string Status,
    string? ArchivedAs,
    string? Plan)
{
    public static TenantResponse From(TenantRecord r) => new(
        r.Name, r.DisplayName, r.State.ToString().ToLowerInvariant(), r.LastMigration, r.Attempts, r.LastError, r.RegisteredAt, r.UpdatedAt,
        r.Status.ToString().ToLowerInvariant(), r.ArchivedAs, r.Plan);
}

/// <summary>What deleting a tenant did: where its data went (null when dropped), and whether its name is free again.</summary>
public sealed record TenantDeletionResponse(string Name, string? ArchivedAs, bool NameReleased);

/// <summary>An operator's request that the Worker has not carried out yet (202 Accepted): see the tenant for its effect.</summary>
public sealed record TenantRequestResponse(long Id, string Tenant, string Action, string State, string RequestedBy, DateTimeOffset RequestedAt)
{
    public static TenantRequestResponse From(TenantRequest r) => new(
        r.Id, r.Tenant, r.Action.ToString().ToLowerInvariant(), r.State.ToString().ToLowerInvariant(), r.RequestedBy, r.RequestedAt);
}

/// <summary>The request's tenant, and the schema and role its database session works in.</summary>
public sealed record CurrentTenantResponse(string Name, string DisplayName, string Schema, string Role);

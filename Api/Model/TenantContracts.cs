using Tenants.Shared.Catalog;

namespace Saas.Api.Model;

/// <summary>What an operator sends to create a tenant.</summary>
public sealed record CreateTenantRequest(string? Name, string? DisplayName);

/// <summary>A tenant as the provisioning endpoints show it, state and last error included.</summary>
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
    string? ArchivedAs)
{
    public static TenantResponse From(TenantRecord r) => new(
        r.Name, r.DisplayName, r.State.ToString().ToLowerInvariant(), r.LastMigration, r.Attempts, r.LastError, r.RegisteredAt, r.UpdatedAt,
        r.Status.ToString().ToLowerInvariant(), r.ArchivedAs);
}

/// <summary>What deleting a tenant did: where its data went (null when dropped), and whether its name is free again.</summary>
public sealed record TenantDeletionResponse(string Name, string? ArchivedAs, bool NameReleased);

/// <summary>The request's tenant, and the schema and role its database session works in.</summary>
public sealed record CurrentTenantResponse(string Name, string DisplayName, string Schema, string Role);

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
    DateTimeOffset UpdatedAt)
{
    public static TenantResponse From(TenantRecord r) => new(
        r.Name, r.DisplayName, r.State.ToString().ToLowerInvariant(), r.LastMigration, r.Attempts, r.LastError, r.RegisteredAt, r.UpdatedAt);
}

/// <summary>The request's tenant, and the schema and role its database session works in.</summary>
public sealed record CurrentTenantResponse(string Name, string DisplayName, string Schema, string Role);

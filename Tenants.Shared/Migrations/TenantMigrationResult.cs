namespace Tenants.Shared.Migrations;

/// <summary>What one tenant's migration pass did.</summary>
public sealed record TenantMigrationResult(string Tenant, IReadOnlyList<string> Applied, string? LastMigration, TimeSpan Duration);

namespace Tenants.Shared.Migrations;

/// <summary>One tenant's line in a run's report.</summary>
public sealed record TenantRunOutcome(string Tenant, bool Succeeded, int AppliedCount, int Attempts, TimeSpan Duration, string? Error);

/// <summary>What a migration pass did, tenant by tenant.</summary>
public sealed record MigrationRunReport(string? LatestMigration, int Registered, IReadOnlyList<TenantRunOutcome> Outcomes, TimeSpan Duration)
{
    public int Failed => Outcomes.Count(o => !o.Succeeded);

    public int Migrated => Outcomes.Count(o => o.Succeeded);

    public int AppliedMigrations => Outcomes.Sum(o => o.AppliedCount);
}

/// <summary>Progress of a running pass: done out of total, failures so far, and the rate.</summary>
public sealed record MigrationProgress(int Done, int Total, int Failed, double TenantsPerSecond);

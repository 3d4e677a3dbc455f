namespace Tenants.Shared.Migrations;

/// <summary>Settings of the migration runner, bound from <c>Tenancy:Migrations</c>.</summary>
public sealed class MigrationRunnerOptions
{
    public const string SectionName = "Tenancy:Migrations";

    /// <summary>
    /// Tenants migrated at once; 0 (the default) derives it from the owner's connection pool: each tenant under way
    /// holds two owner connections (its lock and its migration), and a third of the pool is left for everything else.
    /// A configured value is capped at half the owner's pool, so that a pass never waits on it.
    /// </summary>
    public int MaxParallelism { get; set; }

    /// <summary>Attempts per tenant within one pass before it is reported failed.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The first retry's delay; each further retry doubles it.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How often a hosted runner asks the catalog for tenants that are behind, besides reacting to registrations as
    /// they are announced (an announcement sent while it was not listening is caught by this poll).
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);
}

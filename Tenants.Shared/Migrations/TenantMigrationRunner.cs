using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tenants.Shared.Catalog;

namespace Tenants.Shared.Migrations;

/// <summary>
/// Migrates every registered tenant that is behind, in parallel, each on its own: one tenant's failure never stops
/// the others, failures are retried with back-off, and every outcome lands in the catalog and in the report.
/// Which tenants are behind comes from one catalog query, so a pass with nothing pending builds no DbContext per tenant.
/// </summary>
public sealed partial class TenantMigrationRunner<TContext>(
    OwnerDataSource owner,
    ITenantCatalog catalog,
    TenantMigrator<TContext> migrator,
    IServiceScopeFactory scopes,
    IOptions<MigrationRunnerOptions> options,
    ILogger<TenantMigrationRunner<TContext>> logger)
    where TContext : DbContext
{
    // A tenant under way holds its lock's connection and one more (its migration's, then its grants' and outcome's).
    private const int OwnerConnectionsPerTenant = 2;

    /// <summary>The newest migration <typeparamref name="TContext"/> knows of, or null when it has none.</summary>
    public string? LatestMigration()
    {
        using IServiceScope scope = scopes.CreateScope();
        return scope.ServiceProvider.GetRequiredService<TContext>().Database.GetMigrations().LastOrDefault();
    }

    /// <summary>
    /// Runs one pass. With <paramref name="only"/>, migrates just those tenants, behind or not (an operator's
    /// explicit request); otherwise every tenant the catalog does not record ready at the latest migration.
    /// </summary>
    public async Task<MigrationRunReport> RunAsync(
        IReadOnlyCollection<string>? only = null,
        IProgress<MigrationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        string? latest = LatestMigration();
        IReadOnlyList<TenantRecord> registered = await catalog.ListAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> work = only is null
            ? await catalog.BehindAsync(latest, cancellationToken).ConfigureAwait(false)
            : [.. only.Distinct(StringComparer.Ordinal)];

        var outcomes = new ConcurrentBag<TenantRunOutcome>();
        int done = 0, failed = 0;
        MigrationRunnerOptions settings = options.Value;
        await Parallel.ForEachAsync(
            work,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism(settings), CancellationToken = cancellationToken },
            async (tenant, ct) =>
            {
                TenantRunOutcome outcome = await MigrateWithRetriesAsync(tenant, settings, ct).ConfigureAwait(false);
                outcomes.Add(outcome);
                int finished = Interlocked.Increment(ref done);
                int failures = outcome.Succeeded ? Volatile.Read(ref failed) : Interlocked.Increment(ref failed);
                progress?.Report(new MigrationProgress(finished, work.Count, failures, finished / Math.Max(clock.Elapsed.TotalSeconds, 0.001)));
            }).ConfigureAwait(false);

        var report = new MigrationRunReport(latest, registered.Count(r => r.Status != TenantStatus.Deleted), [.. outcomes.OrderBy(o => o.Tenant, StringComparer.Ordinal)], clock.Elapsed);
        LogPass(report.Outcomes.Count, report.Failed, report.AppliedMigrations, (long)clock.Elapsed.TotalMilliseconds);
        return report;
    }

    /// <summary>
    /// Tenants migrated at once, sized from the owner's pool so that a pass never waits on it: the configured
    /// <see cref="MigrationRunnerOptions.MaxParallelism"/> up to half that pool, or by default a third of it (at most
    /// 32). Throws <see cref="InvalidOperationException"/> for an owner pool too small to migrate one tenant.
    /// </summary>
    public int Parallelism(MigrationRunnerOptions settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        int poolSize = new Npgsql.NpgsqlConnectionStringBuilder(owner.Source.ConnectionString).MaxPoolSize;
        if (poolSize < OwnerConnectionsPerTenant)
        {
            throw new InvalidOperationException(
                $"The owner connection string's Maximum Pool Size is {poolSize}; migrating a tenant holds {OwnerConnectionsPerTenant} owner connections at once: raise it to {OwnerConnectionsPerTenant} or more.");
        }

        return settings.MaxParallelism > 0
            ? Math.Min(settings.MaxParallelism, poolSize / OwnerConnectionsPerTenant)
            : Math.Clamp(poolSize / 3, 1, 32);
    }

    private async Task<TenantRunOutcome> MigrateWithRetriesAsync(string tenant, MigrationRunnerOptions settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        int attempts = Math.Max(1, settings.MaxAttempts);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                TenantMigrationResult result = await migrator.MigrateAsync(tenant, cancellationToken).ConfigureAwait(false);
                return new TenantRunOutcome(tenant, true, result.Applied.Count, attempt, clock.Elapsed, null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // An unknown or invalid tenant will not heal by waiting: report it at once.
                if (attempt >= attempts || e is UnknownTenantException or InvalidTenantNameException)
                {
                    return new TenantRunOutcome(tenant, false, 0, attempt, clock.Elapsed, e.Message);
                }

                await Task.Delay(settings.RetryDelay * Math.Pow(2, attempt - 1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Migration pass: {Tenants} tenant(s), {Failed} failed, {Applied} migration(s) applied in {ElapsedMs} ms")]
    private partial void LogPass(int tenants, int failed, int applied, long elapsedMs);
}

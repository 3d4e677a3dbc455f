using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Catalog;
using Tenants.Shared.EntityFramework;
using Tenants.Shared.Placement;
using Tenants.Shared.Security;

namespace Tenants.Shared.Migrations;

/// <summary>
/// Brings one tenant's schema to <typeparamref name="TContext"/>'s latest migration, safely:
/// a session advisory lock per tenant on a dedicated connection (EF Core's own lock lasts one transaction), the schema
/// created and marked as the tenant's first (an unmarked one is refused), then migrate with search_path = that schema
/// alone and the history table pinned to it, inside the tenant's context so logs and spans carry the tenant. On a
/// Citus cluster with schema-based sharding, a schema made before sharding was on is distributed then. The outcome
/// goes to the catalog.
/// </summary>
public sealed partial class TenantMigrator<TContext>(
    OwnerDataSource owner,
    TenantContext tenants,
    ITenantCatalog catalog,
    MigrationContextFactory<TContext> contexts,
    TenantPrivileges privileges,
    IOptions<TenancyOptions> options,
    ILogger<TenantMigrator<TContext>> logger)
    where TContext : DbContext
{
    /// <summary>Migrates <paramref name="tenant"/> (registered) and records the outcome; rethrows a failure after recording it.</summary>
    public async Task<TenantMigrationResult> MigrateAsync(string tenant, CancellationToken cancellationToken = default)
    {
        TenantNames.EnsureValid(tenant, options.Value.SharedSchema);
        var clock = Stopwatch.StartNew();

        // Entering first refuses an unregistered tenant before anything is created, and tags logs and spans with it.
        await using TenantScope scope = await tenants.EnterAsync(tenant, cancellationToken);
        using Activity? span = TenancyTelemetry.Source.StartActivity("migrate tenant");
        try
        {
            await using NpgsqlConnection lockConnection = await owner.Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using IAsyncDisposable held = await TenantSchemaLock.HoldAsync(lockConnection, tenant, cancellationToken).ConfigureAwait(false);

            // Deleted while this waited for the lock: creating the schema again would bring it back from the dead.
            if (await catalog.FindAsync(tenant, cancellationToken).ConfigureAwait(false) is null or { Status: TenantStatus.Deleted })
            {
                throw new UnknownTenantException(tenant);
            }

            // A schema of that name that the migrator did not create is refused, never adopted.
            await ExecuteAsync(lockConnection, TenantSchemas.CreateSql(tenant), null, cancellationToken).ConfigureAwait(false);
            (IReadOnlyList<string> applied, string? last) = await ApplyAsync(tenant, cancellationToken).ConfigureAwait(false);
            await TenantPlacement.DistributeAsync(lockConnection, tenant, cancellationToken).ConfigureAwait(false);
            await privileges.GrantTenantAsync(tenant, cancellationToken).ConfigureAwait(false);
            await catalog.MarkReadyAsync(tenant, last, cancellationToken).ConfigureAwait(false);
            LogMigrated(tenant, applied.Count, clock.ElapsedMilliseconds);
            TenancyTelemetry.MigrationsApplied.Add(applied.Count);
            TenancyTelemetry.MigrationDuration.Record(clock.Elapsed.TotalSeconds);
            span?.SetTag("tenant_saas.migrations.applied", applied.Count);
            return new TenantMigrationResult(tenant, applied, last, clock.Elapsed);
        }
        catch (Exception e) when (e is not UnknownTenantException && (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
        {
            LogFailed(e, tenant);
            TenancyTelemetry.MigrationFailures.Add(1);
            span?.SetStatus(ActivityStatusCode.Error, e.Message);
            await catalog.MarkFailedAsync(tenant, e.Message, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<(IReadOnlyList<string> Applied, string? Last)> ApplyAsync(string tenant, CancellationToken cancellationToken)
    {
        // A connection of its own, kept open across the whole pass so that the schema-only search_path holds for
        // every migration.
        await using NpgsqlConnection connection = await owner.Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, $"SET search_path TO {PgIdentifier.Quote(tenant)}", null, cancellationToken).ConfigureAwait(false);
        await using TContext db = contexts.Create(connection);

        // EF Core reads the history by querying it and logs a missing table as a failed command (error level):
        // created first, a new tenant's history is empty, not missing.
        await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        List<string> pending = [.. await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)];
        if (pending.Count > 0)
        {
            await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }

        return (pending, db.Database.GetMigrations().LastOrDefault());
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, string? argument, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (argument is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = argument });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: {Count} migration(s) applied in {ElapsedMs} ms")]
    private partial void LogMigrated(string tenant, int count, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {Tenant}: migration failed")]
    private partial void LogFailed(Exception exception, string tenant);
}

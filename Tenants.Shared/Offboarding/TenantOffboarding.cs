using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Catalog;
using Tenants.Shared.Security;

namespace Tenants.Shared.Offboarding;

/// <summary>
/// A tenant's way out, in two steps so that one mistaken call loses nothing: deactivate (no longer served, data kept,
/// reversible), then delete (schema archived or dropped, the tenant's role gone). Deleting keeps the catalog row as a
/// tombstone, so the name is not reused by accident, unless the caller releases the name. Runs as the schema owner.
/// Every process hears of the change (<see cref="CatalogChannels.Changed"/>) and forgets its cached look-ups.
/// </summary>
public sealed class TenantOffboarding(TenantCatalog catalog, TenantPrivileges privileges, IOptions<TenancyOptions> options)
{
    private const string ArchivePrefix = "archived~";

    /// <summary>Stops serving the tenant, keeping its data. Idempotent. Null when there is no such tenant; a deleted one comes back unchanged.</summary>
    public Task<TenantRecord?> DeactivateAsync(string name, CancellationToken cancellationToken = default) =>
        SetStatusAsync(name, TenantStatus.Deactivated, cancellationToken);

    /// <summary>Serves a deactivated tenant again. Idempotent. Null when there is no such tenant; a deleted one comes back unchanged.</summary>
    public Task<TenantRecord?> ReactivateAsync(string name, CancellationToken cancellationToken = default) =>
        SetStatusAsync(name, TenantStatus.Active, cancellationToken);

    /// <summary>
    /// Deletes a deactivated tenant: its schema archived or dropped, its role and grants gone, its catalog row marked
    /// deleted (or removed when <paramref name="releaseName"/>), all in one transaction, while holding the lock a
    /// migration of that tenant holds. On a tenant deleted before, only releases the name when asked.
    /// </summary>
    public async Task<TenantDeletion> DeleteAsync(string name, SchemaDisposal disposal, bool releaseName, CancellationToken cancellationToken = default)
    {
        TenantNames.EnsureValid(name, options.Value.SharedSchema);
        await catalog.EnsureBootstrappedAsync(cancellationToken).ConfigureAwait(false);

        await using NpgsqlConnection lockConnection = await catalog.Owner.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using IAsyncDisposable held = await TenantSchemaLock.HoldAsync(lockConnection, name, cancellationToken).ConfigureAwait(false);
        await using NpgsqlConnection connection = await catalog.Owner.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        (TenantStatus Status, string? ArchivedAs)? row = await LockRowAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
        if (row is not { } found)
        {
            return new TenantDeletion(name, DeletionOutcome.NotFound, null, NameReleased: false);
        }

        if (found.Status == TenantStatus.Active)
        {
            return new TenantDeletion(name, DeletionOutcome.StillActive, null, NameReleased: false);
        }

        string? archivedAs = found.ArchivedAs;
        if (found.Status == TenantStatus.Deactivated)
        {
            archivedAs = disposal == SchemaDisposal.Archive ? ArchiveName(name) : null;
            await ExecuteAsync(connection, transaction, DisposeSchemaSql(name, archivedAs), cancellationToken).ConfigureAwait(false);
            string revoke = privileges.RevokeTenant(name, archivedAs);
            if (revoke.Length > 0)
            {
                await ExecuteAsync(connection, transaction, revoke, cancellationToken).ConfigureAwait(false);
            }
        }

        if (releaseName)
        {
            await ExecuteAsync(connection, transaction, catalog.Sql.Remove, cancellationToken, name).ConfigureAwait(false);
        }
        else
        {
            await ExecuteAsync(connection, transaction, catalog.Sql.MarkDeleted, cancellationToken, name, archivedAs).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        catalog.Forget(name);
        return new TenantDeletion(name, DeletionOutcome.Deleted, archivedAs, releaseName);
    }

    private async Task<TenantRecord?> SetStatusAsync(string name, TenantStatus status, CancellationToken cancellationToken)
    {
        TenantNames.EnsureValid(name, options.Value.SharedSchema);
        await catalog.EnsureBootstrappedAsync(cancellationToken).ConfigureAwait(false);
        await using (NpgsqlCommand command = catalog.Owner.CreateCommand(catalog.Sql.SetStatus))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            command.Parameters.Add(new NpgsqlParameter { Value = status.ToString().ToLowerInvariant() });
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                TenantRecord updated = TenantCatalog.Read(reader);
                catalog.Forget(name);
                return updated;
            }
        }

        // Not updated: no such tenant, or a deleted one, which stays deleted.
        return await catalog.FindAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private static string ArchiveName(string name) =>
        PgIdentifier.Compose($"{ArchivePrefix}{DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture)}~", name);

    // '~' never appears in a tenant's name, so an archive can never be taken for (or collide with) a tenant's schema.
    // Only a schema marked as the tenant's goes: one of its name that someone else made stays as it is.
    private static string DisposeSchemaSql(string name, string? archivedAs) => $"""
        DO $do$ BEGIN
            IF {TenantSchemas.IsMarked(name)} THEN
                EXECUTE {(archivedAs is null
                    ? $"format('DROP SCHEMA %I CASCADE', {PgIdentifier.QuoteLiteral(name)})"
                    : $"format('ALTER SCHEMA %I RENAME TO %I', {PgIdentifier.QuoteLiteral(name)}, {PgIdentifier.QuoteLiteral(archivedAs)})")};
            END IF;
        END $do$;
        """;

    private async Task<(TenantStatus, string?)?> LockRowAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(catalog.Sql.StatusForUpdate, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? (Enum.Parse<TenantStatus>(reader.GetString(0), ignoreCase: true), reader.IsDBNull(1) ? null : reader.GetString(1))
            : null;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (object? value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

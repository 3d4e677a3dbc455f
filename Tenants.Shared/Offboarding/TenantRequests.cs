using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Capacity;
using Tenants.Shared.Catalog;

namespace Tenants.Shared.Offboarding;

/// <summary>
/// Operator requests to deactivate, reactivate or delete a tenant, or change its plan. A process without the owner's login (the Api)
/// records them (its role may insert requests, never change a tenant); the owner's process (the Worker) carries them
/// out with <see cref="TenantOffboarding"/> and <see cref="TenantPlans"/>, oldest first, and records the outcome. Both ends are announced on
/// <see cref="CatalogChannels.Requests"/>.
/// </summary>
public sealed class TenantRequests(TenantCatalog catalog, TenantOffboarding offboarding, TenantPlans plans, IOptions<TenancyOptions> options)
{
    /// <summary>Records a request, pending; <paramref name="requestedBy"/> names the operator for the audit trail.</summary>
    public Task<TenantRequest> SubmitAsync(
        string tenant, TenantRequestAction action, SchemaDisposal disposal, bool releaseName, string requestedBy, CancellationToken cancellationToken = default) =>
        action == TenantRequestAction.Plan
            ? throw new ArgumentException("A plan change is submitted with SubmitPlanAsync.", nameof(action))
            : InsertAsync(tenant, action, disposal, releaseName, plan: null, requestedBy, cancellationToken);

    /// <summary>
    /// Records a request to put <paramref name="tenant"/> on <paramref name="plan"/> (null: the default plan), pending.
    /// Throws <see cref="ArgumentException"/> for a plan this process's configuration does not name.
    /// </summary>
    public Task<TenantRequest> SubmitPlanAsync(string tenant, string? plan, string requestedBy, CancellationToken cancellationToken = default)
    {
        plans.EnsureKnown(plan);
        return InsertAsync(tenant, TenantRequestAction.Plan, SchemaDisposal.Archive, releaseName: false, plan, requestedBy, cancellationToken);
    }

    private async Task<TenantRequest> InsertAsync(
        string tenant, TenantRequestAction action, SchemaDisposal disposal, bool releaseName, string? plan, string requestedBy, CancellationToken cancellationToken)
    {
        TenantNames.EnsureValid(tenant, options.Value.SharedSchema);
        ArgumentException.ThrowIfNullOrWhiteSpace(requestedBy);
        await catalog.EnsureBootstrappedAsync(cancellationToken).ConfigureAwait(false);
        bool deleting = action == TenantRequestAction.Delete;
        await using NpgsqlCommand command = catalog.App.CreateCommand(catalog.Sql.Request);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = Lower(action) });
        command.Parameters.Add(new NpgsqlParameter { Value = deleting ? Lower(disposal) : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { Value = deleting && releaseName });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)plan ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { Value = requestedBy });
        return (await ReadOneAsync(command, cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<TenantRequest?> FindAsync(long id, CancellationToken cancellationToken = default)
    {
        await catalog.EnsureBootstrappedAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = catalog.App.CreateCommand(catalog.Sql.FindRequest);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return await ReadOneAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Carries out the oldest pending request as the owner and records how it ended; null when none is pending. The
    /// request stays locked while it runs, so that two owner processes never carry out the same one.
    /// </summary>
    public async Task<TenantRequest?> CarryOutNextAsync(CancellationToken cancellationToken = default)
    {
        await catalog.EnsureBootstrappedAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlConnection connection = await catalog.Owner.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        TenantRequest? request;
        await using (var next = new NpgsqlCommand(catalog.Sql.NextRequest, connection, transaction))
        {
            request = await ReadOneAsync(next, cancellationToken).ConfigureAwait(false);
        }

        if (request is null)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        (TenantRequestState state, string outcome, string? archivedAs) = await OutcomeAsync(request, cancellationToken).ConfigureAwait(false);
        await using (var complete = new NpgsqlCommand(catalog.Sql.CompleteRequest, connection, transaction))
        {
            complete.Parameters.Add(new NpgsqlParameter { Value = request.Id });
            complete.Parameters.Add(new NpgsqlParameter { Value = Lower(state) });
            complete.Parameters.Add(new NpgsqlParameter { Value = outcome });
            complete.Parameters.Add(new NpgsqlParameter { Value = (object?)archivedAs ?? DBNull.Value });
            await complete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return request with { State = state, Outcome = outcome, ArchivedAs = archivedAs };
    }

    private async Task<(TenantRequestState, string, string?)> OutcomeAsync(TenantRequest request, CancellationToken cancellationToken)
    {
        try
        {
            if (request.Action == TenantRequestAction.Delete)
            {
                TenantDeletion deletion = await offboarding.DeleteAsync(request.Tenant, request.Disposal ?? SchemaDisposal.Archive, request.ReleaseName, cancellationToken).ConfigureAwait(false);
                return deletion.Outcome switch
                {
                    DeletionOutcome.NotFound => (TenantRequestState.Refused, TenantRequestOutcomes.NotFound, null),
                    DeletionOutcome.StillActive => (TenantRequestState.Refused, TenantRequestOutcomes.StillActive, null),
                    _ => (TenantRequestState.Done, deletion.NameReleased ? "released" : "deleted", deletion.ArchivedAs),
                };
            }

            TenantRecord? record = request.Action switch
            {
                TenantRequestAction.Deactivate => await offboarding.DeactivateAsync(request.Tenant, cancellationToken).ConfigureAwait(false),
                TenantRequestAction.Reactivate => await offboarding.ReactivateAsync(request.Tenant, cancellationToken).ConfigureAwait(false),
                _ => await plans.SetAsync(request.Tenant, request.Plan, cancellationToken).ConfigureAwait(false),
            };
            return record switch
            {
                null => (TenantRequestState.Refused, TenantRequestOutcomes.NotFound, null),
                { Status: TenantStatus.Deleted } => (TenantRequestState.Refused, TenantRequestOutcomes.AlreadyDeleted, null),
                _ when request.Action == TenantRequestAction.Plan => (TenantRequestState.Done, plans.NameOf(record), null),
                _ => (TenantRequestState.Done, Lower(record.Status), null),
            };
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or ArgumentException)
        {
            return (TenantRequestState.Failed, e.Message, null);
        }
    }

    private static async Task<TenantRequest?> ReadOneAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new TenantRequest(
            Id: reader.GetInt64(0),
            Tenant: reader.GetString(1),
            Action: Enum.Parse<TenantRequestAction>(reader.GetString(2), ignoreCase: true),
            Disposal: reader.IsDBNull(3) ? null : Enum.Parse<SchemaDisposal>(reader.GetString(3), ignoreCase: true),
            ReleaseName: reader.GetBoolean(4),
            RequestedBy: reader.GetString(5),
            RequestedAt: reader.GetFieldValue<DateTimeOffset>(6),
            State: Enum.Parse<TenantRequestState>(reader.GetString(7), ignoreCase: true),
            Outcome: reader.IsDBNull(8) ? null : reader.GetString(8),
            ArchivedAs: reader.IsDBNull(9) ? null : reader.GetString(9),
            DoneAt: reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
            Plan: reader.IsDBNull(11) ? null : reader.GetString(11));
    }

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}

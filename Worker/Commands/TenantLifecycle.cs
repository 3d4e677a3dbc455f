using System.Globalization;
using Microsoft.Extensions.Options;
using Saas.Data;
using Tenants.Shared;
using Tenants.Shared.Capacity;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;
using Tenants.Shared.Offboarding;
using Tenants.Shared.Placement;

namespace Saas.Worker.Commands;

/// <summary>
/// <c>tenants add | deactivate | reactivate | delete | plan | move</c>: one tenant's provisioning, offboarding, plan and
/// node, through the same catalog, migrator and offboarding the Api's <c>/tenants</c> endpoints use, so the catalog
/// ends as the Api leaves it.
/// </summary>
internal sealed class TenantLifecycle(
    ITenantCatalog catalog,
    TenantMigrator<AppDbContext> migrator,
    TenantOffboarding offboarding,
    TenantPlans plans,
    TenantPlacement placement,
    IOptions<TenancyOptions> options,
    TextWriter output)
{
    /// <summary>The Api's limit on a display name.</summary>
    public const int DisplayNameMaxLength = 200;

    /// <summary>Registers the tenant and migrates it, as <c>POST /tenants</c> does; exit 1 when it is not ready afterwards.</summary>
    public async Task<int> AddAsync(string name, string? displayName, CancellationToken cancellationToken)
    {
        EnsureValidName(name);
        string display = displayName?.Trim() ?? name;
        if (display.Length is 0 or > DisplayNameMaxLength || display.Any(char.IsControl))
        {
            throw CommandFailure.Usage($"a display name is 1 to {DisplayNameMaxLength} characters, without control characters.");
        }

        RegistrationOutcome outcome;
        TenantRecord record;
        try
        {
            (outcome, record) = await catalog.CreateAsync(name, display, cancellationToken);
        }
        catch (SchemaTakenException e)
        {
            throw CommandFailure.Tenant($"{e.Message} Nothing changed.");
        }

        switch (outcome)
        {
            case RegistrationOutcome.Conflict:
                throw CommandFailure.Tenant($"a tenant named {name} exists with another display name ('{record.DisplayName}'): nothing changed.");
            case RegistrationOutcome.Retired:
                throw CommandFailure.Tenant($"the name {name} belonged to a deleted tenant and was not released: 'tenants delete {name} --release-name' frees it.");
        }

        if (record.State != MigrationState.Ready)
        {
            try
            {
                await migrator.MigrateAsync(name, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Recorded in the catalog by the migrator; reported below.
            }

            record = await catalog.FindAsync(name, cancellationToken) ?? record;
        }

        if (record.State != MigrationState.Ready)
        {
            throw CommandFailure.Tenant($"{name} is registered but not ready ({CommandJson.Lower(record.State)}): {record.LastError}");
        }

        string verb = outcome == RegistrationOutcome.Created ? "added" : "already registered";
        await output.WriteLineAsync($"{name} {verb}: ready at {record.LastMigration ?? "(no migrations)"}, {CommandJson.Lower(record.Status)}");
        return ExitCodes.Success;
    }

    /// <summary>Stops serving the tenant, its data kept, as <c>POST /tenants/{name}/deactivate</c> does.</summary>
    public async Task<int> DeactivateAsync(string name, CancellationToken cancellationToken)
    {
        EnsureValidName(name);
        Changed(name, await offboarding.DeactivateAsync(name, cancellationToken));
        await output.WriteLineAsync($"{name} deactivated: its data is kept; 'tenants reactivate {name}' serves it again");
        return ExitCodes.Success;
    }

    /// <summary>Serves a deactivated tenant again, as <c>POST /tenants/{name}/reactivate</c> does.</summary>
    public async Task<int> ReactivateAsync(string name, CancellationToken cancellationToken)
    {
        EnsureValidName(name);
        Changed(name, await offboarding.ReactivateAsync(name, cancellationToken));
        await output.WriteLineAsync($"{name} reactivated");
        return ExitCodes.Success;
    }

    /// <summary>Deletes a deactivated tenant, as <c>DELETE /tenants/{name}</c> does; an active one is refused with exit 1.</summary>
    public async Task<int> DeleteAsync(string name, bool drop, bool releaseName, CancellationToken cancellationToken)
    {
        EnsureValidName(name);
        TenantDeletion deletion = await offboarding.DeleteAsync(name, drop ? SchemaDisposal.Drop : SchemaDisposal.Archive, releaseName, cancellationToken);
        switch (deletion.Outcome)
        {
            case DeletionOutcome.NotFound:
                throw NotFound(name);
            case DeletionOutcome.StillActive:
                throw CommandFailure.Tenant($"{name} is active: deactivate it first ('tenants deactivate {name}'); nothing changed.");
        }

        string schema = deletion.ArchivedAs is { } archive ? $"schema archived as {archive}" : "schema dropped";
        string nameState = deletion.NameReleased ? "name released" : $"name retired ('tenants delete {name} --release-name' frees it)";
        await output.WriteLineAsync($"{name} deleted: {schema}; {nameState}");
        return ExitCodes.Success;
    }

    /// <summary>Puts the tenant on <paramref name="plan"/> (null: the default), as <c>PUT /tenants/{name}/plan</c> does; an unknown plan is exit 2.</summary>
    public async Task<int> SetPlanAsync(string name, string? plan, CancellationToken cancellationToken)
    {
        EnsureValidName(name);
        try
        {
            plans.EnsureKnown(plan);
        }
        catch (ArgumentException e)
        {
            throw CommandFailure.Usage(e.Message);
        }

        TenantRecord? record = await plans.SetAsync(name, plan, cancellationToken);
        Changed(name, record);
        await output.WriteLineAsync($"{name} is on plan {plans.NameOf(record!)}");
        return ExitCodes.Success;
    }

    /// <summary>Moves the tenant's schema to <paramref name="to"/> (<c>HOST:PORT</c>), a node of its Citus cluster.</summary>
    public async Task<int> MoveAsync(string name, string to, CancellationToken cancellationToken)
    {
        EnsureValidName(name);
        TenantNode node = TenantNode.Parse(to) ?? throw CommandFailure.Usage($"'{to}' is not a node: give HOST:PORT, as 'tenants list' shows a tenant's node.");
        TenantMove move;
        try
        {
            move = await placement.MoveAsync(name, node, cancellationToken);
        }
        catch (UnknownTenantException)
        {
            throw NotFound(name);
        }
        catch (InvalidOperationException e)
        {
            throw CommandFailure.Tenant(e.Message);
        }

        await output.WriteLineAsync(move.Moved
            ? string.Create(CultureInfo.InvariantCulture, $"{name} moved from {move.From} to {move.To} in {move.Elapsed.TotalSeconds:F1} s")
            : $"{name} is already on {move.To}: nothing changed");
        return ExitCodes.Success;
    }

    private static void Changed(string name, TenantRecord? record)
    {
        if (record is null)
        {
            throw NotFound(name);
        }

        if (record.Status == TenantStatus.Deleted)
        {
            throw CommandFailure.Tenant($"{name} is deleted: nothing changed.");
        }
    }

    private static CommandFailure NotFound(string name) => CommandFailure.Tenant($"no tenant named {name}.");

    private void EnsureValidName(string name)
    {
        if (TenantNames.Problem(name, options.Value.SharedSchema) is { } problem)
        {
            throw CommandFailure.Usage($"'{name}' is not a tenant name: {problem}");
        }
    }
}

using System.Text.Json;
using Saas.Data;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Saas.Worker.Commands;

/// <summary><c>tenants list</c> and <c>tenants status</c>: what the catalog holds, as a table or as JSON.</summary>
internal sealed class CatalogReport(ITenantCatalog catalog, TenantMigrationRunner<AppDbContext> runner, TextWriter output)
{
    public async Task<int> ListAsync(bool json, CancellationToken cancellationToken)
    {
        IReadOnlyList<TenantRecord> tenants = await catalog.ListAsync(cancellationToken);
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize([.. tenants.Select(TenantJson.From)], CommandJson.Default.IReadOnlyListTenantJson));
            return ExitCodes.Success;
        }

        await output.WriteLineAsync($"{"NAME",-24} {"STATE",-8} {"STATUS",-11} {"LAST MIGRATION",-40} DISPLAY NAME");
        foreach (TenantRecord t in tenants)
        {
            await output.WriteLineAsync($"{t.Name,-24} {CommandJson.Lower(t.State),-8} {CommandJson.Lower(t.Status),-11} {t.LastMigration ?? "-",-40} {t.DisplayName}");
        }

        await output.WriteLineAsync($"{tenants.Count} tenant(s)");
        return ExitCodes.Success;
    }

    public async Task<int> StatusAsync(bool json, CancellationToken cancellationToken)
    {
        string? latest = runner.LatestMigration();
        // A deleted tenant's row only keeps its name: it is not registered any more.
        List<TenantRecord> tenants = [.. (await catalog.ListAsync(cancellationToken)).Where(t => t.Status != TenantStatus.Deleted)];
        IReadOnlyList<string> behind = await catalog.BehindAsync(latest, cancellationToken);
        var status = new StatusJson(
            latest,
            tenants.Count,
            tenants.Count(t => t.State == MigrationState.Pending),
            tenants.Count(t => t.State == MigrationState.Ready),
            tenants.Count(t => t.State == MigrationState.Failed),
            tenants.Count(t => t.Status == TenantStatus.Deactivated),
            behind.Count,
            [.. tenants.Where(t => t.State == MigrationState.Failed).Select(t => new FailedTenantJson(t.Name, t.Attempts, t.LastError))]);
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(status, CommandJson.Default.StatusJson));
            return ExitCodes.Success;
        }

        await output.WriteLineAsync($"latest migration: {latest ?? "(none)"}");
        await output.WriteLineAsync($"registered: {status.Registered}");
        await output.WriteLineAsync($"pending: {status.Pending}");
        await output.WriteLineAsync($"ready: {status.Ready}");
        await output.WriteLineAsync($"failed: {status.Failed}");
        await output.WriteLineAsync($"deactivated: {status.Deactivated}");
        await output.WriteLineAsync($"behind the latest migration: {status.Behind}");
        foreach (FailedTenantJson failed in status.Failures)
        {
            await output.WriteLineAsync($"  failed {failed.Name} (attempts {failed.Attempts}): {failed.LastError}");
        }

        return ExitCodes.Success;
    }
}

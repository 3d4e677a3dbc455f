using System.Globalization;
using System.Text.Json;
using Saas.Data;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;
using Tenants.Shared.Placement;

namespace Saas.Worker.Commands;

/// <summary>
/// <c>tenants list</c> and <c>tenants status</c>: what the catalog holds, as a table or as JSON, with each tenant's
/// node on a Citus cluster.
/// </summary>
internal sealed class CatalogReport(ITenantCatalog catalog, TenantMigrationRunner<AppDbContext> runner, TenantPlacement placement, TextWriter output)
{
    public async Task<int> ListAsync(bool json, CancellationToken cancellationToken)
    {
        IReadOnlyList<TenantRecord> tenants = await catalog.ListAsync(cancellationToken);
        IReadOnlyDictionary<string, TenantNode> nodes = await placement.NodesAsync(cancellationToken);
        string? NodeOf(TenantRecord t) => nodes.TryGetValue(t.Name, out TenantNode? node) ? node.ToString() : null;
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize([.. tenants.Select(t => TenantJson.From(t, NodeOf(t)))], CommandJson.Default.IReadOnlyListTenantJson));
            return ExitCodes.Success;
        }

        // The node column only on a Citus cluster: on one server every tenant is on it.
        string NodeColumn(string? node) => nodes.Count == 0 ? string.Empty : $"{node ?? "-",-22} ";
        await output.WriteLineAsync($"{"NAME",-24} {"STATE",-8} {"STATUS",-11} {NodeColumn("NODE")}{"LAST MIGRATION",-40} DISPLAY NAME");
        foreach (TenantRecord t in tenants)
        {
            await output.WriteLineAsync($"{t.Name,-24} {CommandJson.Lower(t.State),-8} {CommandJson.Lower(t.Status),-11} {NodeColumn(NodeOf(t))}{t.LastMigration ?? "-",-40} {t.DisplayName}");
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
        IReadOnlyDictionary<string, TenantNode> nodes = await placement.NodesAsync(cancellationToken);
        IReadOnlyList<TenantActivity>? activity = null;
        string? activityUnavailable = null;
        try
        {
            activity = await placement.ActivityAsync(cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            activityUnavailable = e.Message; // the rest of the status still stands
        }

        var status = new StatusJson(
            latest,
            tenants.Count,
            tenants.Count(t => t.State == MigrationState.Pending),
            tenants.Count(t => t.State == MigrationState.Ready),
            tenants.Count(t => t.State == MigrationState.Failed),
            tenants.Count(t => t.Status == TenantStatus.Deactivated),
            behind.Count,
            [.. tenants.Where(t => t.State == MigrationState.Failed).Select(t => new FailedTenantJson(t.Name, t.Attempts, t.LastError))],
            tenants.Where(t => nodes.ContainsKey(t.Name)).GroupBy(t => nodes[t.Name].ToString()).OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            activity);
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
        if (status.Nodes.Count > 0)
        {
            await output.WriteLineAsync($"tenants by node: {string.Join(", ", status.Nodes.Select(n => $"{n.Key} {n.Value}"))}");
        }

        if (activityUnavailable is not null)
        {
            await output.WriteLineAsync($"busiest tenants: unavailable. {activityUnavailable}");
        }

        if (activity is { Count: > 0 })
        {
            // The current period and the one before it (citus.stat_tenants_period): queries, then CPU seconds.
            await output.WriteLineAsync("busiest tenants (queries, CPU s; this period + the one before):");
            foreach (TenantActivity a in activity.Take(10))
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  {a.Tenant,-24} {a.Queries + a.QueriesLastPeriod,8} {a.CpuSeconds + a.CpuSecondsLastPeriod,10:F3}"));
            }
        }

        foreach (FailedTenantJson failed in status.Failures)
        {
            await output.WriteLineAsync($"  failed {failed.Name} (attempts {failed.Attempts}): {failed.LastError}");
        }

        return ExitCodes.Success;
    }
}

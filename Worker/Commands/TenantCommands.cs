using System.Diagnostics;
using System.Globalization;
using Saas.Data;
using Tenants.Shared.Catalog;
using Tenants.Shared.Migrations;

namespace Saas.Worker.Commands;

/// <summary>
/// The operators' command line: <c>tenants list | migrate [--tenant NAME] | status</c>. Exit code 0 on success,
/// 1 when any tenant failed, 2 on a usage error.
/// </summary>
internal sealed class TenantCommands(ITenantCatalog catalog, TenantMigrationRunner<AppDbContext> runner, TextWriter output, TextWriter progress)
{
    public const string Usage = "usage: tenants list | tenants migrate [--tenant NAME]... | tenants status";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        switch (args)
        {
            case ["list"]:
                await ListAsync(cancellationToken);
                return 0;
            case ["status"]:
                await StatusAsync(cancellationToken);
                return 0;
            case ["migrate", .. var rest] when TryParseTenants(rest, out List<string>? only):
                return await MigrateAsync(only, cancellationToken);
            default:
                await progress.WriteLineAsync(Usage);
                return 2;
        }
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<TenantRecord> tenants = await catalog.ListAsync(cancellationToken);
        await output.WriteLineAsync($"{"NAME",-24} {"STATE",-8} {"STATUS",-11} {"LAST MIGRATION",-40} DISPLAY NAME");
        foreach (TenantRecord t in tenants)
        {
            await output.WriteLineAsync($"{t.Name,-24} {Lower(t.State),-8} {Lower(t.Status),-11} {t.LastMigration ?? "-",-40} {t.DisplayName}");
        }

        await output.WriteLineAsync($"{tenants.Count} tenant(s)");
    }

    private async Task StatusAsync(CancellationToken cancellationToken)
    {
        string? latest = runner.LatestMigration();
        // A deleted tenant's row only keeps its name: it is not registered any more.
        List<TenantRecord> tenants = [.. (await catalog.ListAsync(cancellationToken)).Where(t => t.Status != TenantStatus.Deleted)];
        IReadOnlyList<string> behind = await catalog.BehindAsync(latest, cancellationToken);
        await output.WriteLineAsync($"latest migration: {latest ?? "(none)"}");
        await output.WriteLineAsync($"registered: {tenants.Count}");
        foreach (IGrouping<TenantState, TenantRecord> state in tenants.GroupBy(t => t.State).OrderBy(g => g.Key))
        {
            await output.WriteLineAsync($"{Lower(state.Key)}: {state.Count()}");
        }

        await output.WriteLineAsync($"deactivated: {tenants.Count(t => t.Status == TenantStatus.Deactivated)}");
        await output.WriteLineAsync($"behind the latest migration: {behind.Count}");
        foreach (TenantRecord failed in tenants.Where(t => t.State == TenantState.Failed))
        {
            await output.WriteLineAsync($"  failed {failed.Name} (attempts {failed.Attempts}): {failed.LastError}");
        }
    }

    private async Task<int> MigrateAsync(List<string>? only, CancellationToken cancellationToken)
    {
        var lastShown = Stopwatch.StartNew();
        var reporter = new Progress<MigrationProgress>(p =>
        {
            // At most once a second, and always the last one: long runs show they are moving.
            if (p.Done == p.Total || lastShown.Elapsed >= TimeSpan.FromSeconds(1))
            {
                lastShown.Restart();
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"migrated {p.Done}/{p.Total}, failed {p.Failed}, {p.TenantsPerSecond:F1} tenants/s"));
            }
        });

        MigrationRunReport report = await runner.RunAsync(only, reporter, cancellationToken);
        await output.WriteLineAsync($"{"TENANT",-24} {"RESULT",-7} {"APPLIED",7} {"ATTEMPTS",8} {"MS",8}  ERROR");
        foreach (TenantRunOutcome o in report.Outcomes)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{o.Tenant,-24} {(o.Succeeded ? "ok" : "FAILED"),-7} {o.AppliedCount,7} {o.Attempts,8} {o.Duration.TotalMilliseconds,8:F0}  {o.Error}"));
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{report.Migrated} ok, {report.Failed} failed, {report.AppliedMigrations} migration(s) applied, {report.Registered} registered, {report.Duration.TotalSeconds:F1} s"));
        return report.Failed == 0 ? 0 : 1;
    }

    private static bool TryParseTenants(string[] rest, out List<string>? only)
    {
        only = null;
        for (int i = 0; i < rest.Length; i += 2)
        {
            if (rest[i] != "--tenant" || i + 1 >= rest.Length)
            {
                return false;
            }

            (only ??= []).Add(rest[i + 1]);
        }

        return true;
    }

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}

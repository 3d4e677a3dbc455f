using System.Globalization;
using Saas.Data;
using Tenants.Shared;
using Microsoft.Extensions.Options;
using Tenants.Shared.Migrations;

namespace Saas.Worker.Commands;

/// <summary><c>tenants migrate</c>: one pass of the runner the hosted Worker uses, with progress, then a line per tenant.</summary>
internal sealed class MigrationReport(TenantMigrationRunner<AppDbContext> runner, IOptions<TenancyOptions> options, TextWriter output, TextWriter error)
{
    public async Task<int> MigrateAsync(IReadOnlyCollection<string>? only, CancellationToken cancellationToken)
    {
        foreach (string name in only ?? [])
        {
            if (TenantNames.Problem(name, options.Value.SharedSchema) is { } problem)
            {
                throw CommandFailure.Usage($"'{name}' is not a tenant name: {problem}");
            }
        }

        MigrationRunReport report = await MigrationProgressDisplay.RunAsync(error, progress => runner.RunAsync(only, progress, cancellationToken));
        await output.WriteLineAsync($"{"TENANT",-24} {"RESULT",-7} {"APPLIED",7} {"ATTEMPTS",8} {"MS",8}  ERROR");
        foreach (TenantRunOutcome o in report.Outcomes)
        {
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{o.Tenant,-24} {(o.Succeeded ? "ok" : "FAILED"),-7} {o.AppliedCount,7} {o.Attempts,8} {o.Duration.TotalMilliseconds,8:F0}  {o.Error?.ReplaceLineEndings(" ")}");
            await output.WriteLineAsync(line.TrimEnd());
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{report.Migrated} ok, {report.Failed} failed, {report.AppliedMigrations} migration(s) applied, {report.Registered} registered, {report.Duration.TotalSeconds:F1} s"));
        if (report.Failed > 0)
        {
            throw CommandFailure.Tenant(
                $"{report.Failed} of {report.Outcomes.Count} tenant(s) failed: {string.Join(", ", report.Outcomes.Where(o => !o.Succeeded).Select(o => o.Tenant))}");
        }

        return ExitCodes.Success;
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Tenants.Shared;

/// <summary>
/// The tenancy core's own spans and metrics. Metrics carry no tenant label: with thousands of tenants that would
/// overflow the SDK's series limit; spans carry the tenant (tenant.id) instead.
/// </summary>
public static class TenancyTelemetry
{
    public const string Name = "Tenants.Shared";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> MigrationsApplied = Meter.CreateCounter<long>(
        "tenant_saas.migrations.applied", unit: "{migration}", description: "Migrations applied to tenant schemas.");

    public static readonly Counter<long> MigrationFailures = Meter.CreateCounter<long>(
        "tenant_saas.migrations.failures", unit: "{attempt}", description: "Tenant migration attempts that failed.");

    public static readonly Histogram<double> MigrationDuration = Meter.CreateHistogram<double>(
        "tenant_saas.migration.duration", unit: "s", description: "Time to bring one tenant's schema to the latest migration.");

    public static readonly Counter<long> RequestsThrottled = Meter.CreateCounter<long>(
        "tenant_saas.requests.throttled", unit: "{request}", description: "Requests refused by their tenant's plan limits, by plan and limit.");
}

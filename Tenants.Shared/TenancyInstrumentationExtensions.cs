using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Tenants.Shared;

/// <summary>
/// The tenancy core's telemetry in an app's OpenTelemetry: its own spans and metrics, and <c>tenant.id</c> on each span
/// started inside a tenant scope, Npgsql's included. Npgsql's own spans and metrics are the app's to add (Aspire's
/// PostgreSQL client integration does, unless its settings turn them off).
/// </summary>
public static class TenancyInstrumentationExtensions
{
    public static TracerProviderBuilder AddTenancyInstrumentation(this TracerProviderBuilder tracing) =>
        tracing.AddSource(TenancyTelemetry.Name).AddProcessor(new TenantSpanProcessor());

    public static MeterProviderBuilder AddTenancyInstrumentation(this MeterProviderBuilder metrics) =>
        metrics.AddMeter(TenancyTelemetry.Name);
}

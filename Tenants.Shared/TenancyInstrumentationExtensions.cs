using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Tenants.Shared;

/// <summary>
/// The tenancy core's telemetry in an app's OpenTelemetry: its own spans and metrics, Npgsql's (every tenant's queries
/// go through Npgsql), and <c>tenant.id</c> on each span started inside a tenant scope.
/// </summary>
public static class TenancyInstrumentationExtensions
{
    public static TracerProviderBuilder AddTenancyInstrumentation(this TracerProviderBuilder tracing) =>
        tracing.AddSource(TenancyTelemetry.Name).AddNpgsql().AddProcessor(new TenantSpanProcessor());

    public static MeterProviderBuilder AddTenancyInstrumentation(this MeterProviderBuilder metrics) =>
        metrics.AddMeter(TenancyTelemetry.Name).AddNpgsqlInstrumentation();
}

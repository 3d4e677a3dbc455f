using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Saas.Worker;

/// <summary>
/// Ready once the first migration pass has finished: until then the Api must not serve tenants. Degraded, not
/// Unhealthy, meanwhile: /health answers 503 for both, but the health check service logs Unhealthy as an error, and a
/// Worker starting up is no fault.
/// </summary>
internal sealed class MigrationReadiness : IHealthCheck
{
    private volatile bool _firstPassDone;

    public void FirstPassDone() => _firstPassDone = true;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_firstPassDone
            ? HealthCheckResult.Healthy("The first migration pass has finished.")
            : HealthCheckResult.Degraded("The first migration pass is still running."));
}

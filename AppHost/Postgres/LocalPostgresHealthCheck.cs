using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// Healthy once the app database accepts a connection with the resource's own connection string and its set-up is done:
/// the last step, revoking TEMP from PUBLIC, has committed (run-postgres.sh).
/// </summary>
internal sealed class LocalPostgresHealthCheck(LocalPostgresResource resource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            string? connectionString = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false);
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT NOT has_database_privilege('public', current_database(), 'TEMPORARY')", connection);
            return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("The app database is not set up yet.");
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL is not accepting connections yet.", e);
        }
    }
}

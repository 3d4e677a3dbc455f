using Npgsql;

namespace Tenants.Shared.Catalog;

/// <summary>
/// New registrations as they happen, from any process: the catalog's insert trigger NOTIFYs, and a subscription
/// LISTENs on a dedicated connection. Notifications are not durable (one sent while nobody listens is lost), so a
/// consumer subscribes first, then reads the catalog, and keeps a periodic poll for the gaps a lost connection leaves.
/// </summary>
public sealed class TenantRegistrations(TenantDataSource dataSource, ITenantRegistry registry)
{
    /// <summary>
    /// Starts listening. When this returns, every registration committed from then on is announced by the
    /// subscription; dispose it to stop.
    /// </summary>
    public async Task<RegistrationSubscription> SubscribeAsync(CancellationToken cancellationToken = default)
    {
        // The catalog (and its trigger) must exist before LISTEN is useful.
        await registry.RegisteredTenantsAsync(cancellationToken).ConfigureAwait(false);

        NpgsqlConnection connection = await dataSource.Shared.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var listen = new NpgsqlCommand($"LISTEN {CatalogSql.RegisteredChannel}", connection))
            {
                await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return new RegistrationSubscription(connection);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

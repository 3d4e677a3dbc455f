using Npgsql;

namespace Tenants.Shared.Catalog;

/// <summary>
/// The catalog's announcements as they happen, from any process: its triggers NOTIFY (<see cref="CatalogChannels"/>),
/// and a subscription LISTENs on a dedicated connection. Notifications are not durable (one sent while nobody listens
/// is lost), so a consumer subscribes first, then reads the catalog, and keeps a periodic poll for the gaps a lost
/// connection leaves.
/// </summary>
public sealed class CatalogNotifications(TenantDataSource dataSource, ITenantRegistry registry)
{
    /// <summary>
    /// Starts listening on <paramref name="channels"/>. When this returns, every announcement committed from then on
    /// reaches the subscription; dispose it to stop.
    /// </summary>
    public async Task<CatalogSubscription> SubscribeAsync(IReadOnlyCollection<string> channels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channels);

        // The catalog (and its triggers) must exist before LISTEN is useful.
        await registry.RegisteredTenantsAsync(cancellationToken).ConfigureAwait(false);

        NpgsqlConnection connection = await dataSource.Listening.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var listen = new NpgsqlCommand(string.Join(';', channels.Select(c => $"LISTEN {PgIdentifier.Quote(c)}")), connection))
            {
                await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return new CatalogSubscription(connection);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

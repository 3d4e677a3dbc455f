using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Npgsql;

namespace Tenants.Shared.Catalog;

/// <summary>
/// New registrations as they happen, from any process: the catalog's insert trigger NOTIFYs, and this listens on a
/// dedicated connection. Notifications are not durable (one sent while nobody listens is lost), so a consumer pairs
/// this with a periodic catalog poll.
/// </summary>
public sealed class TenantRegistrations(TenantDataSource dataSource, ITenantRegistry registry)
{
    /// <summary>Yields each newly registered tenant's name until <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<string> ListenAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The catalog (and its trigger) must exist before LISTEN is useful.
        await registry.RegisteredTenantsAsync(cancellationToken).ConfigureAwait(false);

        var names = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        await using NpgsqlConnection connection = await dataSource.Shared.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        connection.Notification += (_, e) => names.Writer.TryWrite(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN {CatalogSql.RegisteredChannel}", connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // The pump must stop before the connection is disposed, however the consumer leaves (break, dispose, cancel).
        using var stopPump = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task pump = PumpAsync(connection, names.Writer, stopPump.Token);
        try
        {
            await foreach (string name in names.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return name;
            }
        }
        finally
        {
            await stopPump.CancelAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
        }
    }

    private static async Task PumpAsync(NpgsqlConnection connection, ChannelWriter<string> writer, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // Cancellation ends the stream; anything else (the server went away) ends it with that error.
            writer.TryComplete(e is OperationCanceledException ? null : e);
        }
    }
}

using System.Threading.Channels;
using Npgsql;

namespace Tenants.Shared.Catalog;

/// <summary>An announcement: the channel it came on and its payload (a tenant's name, or a request's id).</summary>
public readonly record struct CatalogNotification(string Channel, string Payload);

/// <summary>An active LISTEN on catalog channels; see <see cref="CatalogNotifications.SubscribeAsync"/>.</summary>
public sealed class CatalogSubscription : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly Channel<CatalogNotification> _names = Channel.CreateUnbounded<CatalogNotification>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopPump = new();
    private readonly Task _pump;
    private int _disposed;

    internal CatalogSubscription(NpgsqlConnection connection)
    {
        _connection = connection;
        _connection.Notification += (_, e) => _names.Writer.TryWrite(new CatalogNotification(e.Channel, e.Payload));
        _pump = PumpAsync();
    }

    /// <summary>
    /// Yields each announcement. Ends with the connection's error if the server goes away (the caller subscribes again
    /// and re-reads the catalog for what it missed meanwhile).
    /// </summary>
    public IAsyncEnumerable<CatalogNotification> ReadAllAsync(CancellationToken cancellationToken = default) =>
        _names.Reader.ReadAllAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // The pump must stop before the connection is disposed.
        await _stopPump.CancelAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stopPump.Dispose();
    }

    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                await _connection.WaitAsync(_stopPump.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // Disposal ends the stream; anything else (the server went away) ends it with that error.
            _names.Writer.TryComplete(e is OperationCanceledException ? null : e);
        }
    }
}

using System.Threading.Channels;
using Npgsql;

namespace Tenants.Shared.Catalog;

/// <summary>An active LISTEN for tenant registrations; see <see cref="TenantRegistrations.SubscribeAsync"/>.</summary>
public sealed class RegistrationSubscription : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly Channel<string> _names = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopPump = new();
    private readonly Task _pump;
    private int _disposed;

    internal RegistrationSubscription(NpgsqlConnection connection)
    {
        _connection = connection;
        _connection.Notification += (_, e) => _names.Writer.TryWrite(e.Payload);
        _pump = PumpAsync();
    }

    /// <summary>
    /// Yields each newly registered tenant's name. Ends with the connection's error if the server goes away (the
    /// caller subscribes again and re-reads the catalog for what it missed meanwhile).
    /// </summary>
    public IAsyncEnumerable<string> ReadAllAsync(CancellationToken cancellationToken = default) =>
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

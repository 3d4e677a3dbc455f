using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Routing;

namespace Tenants.Shared;

/// <summary>
/// Where every connection comes from. One Npgsql pool for all tenants; <see cref="OpenConnectionAsync"/> hands out
/// connections routed to the current tenant, <see cref="Shared"/> ones that see only the shared schema.
/// </summary>
public sealed class TenantDataSource : IAsyncDisposable, IDisposable
{
    private readonly ITenantConnectionRouting _routing;

    public TenantDataSource(string connectionString, ITenantConnectionRouting routing, IOptions<TenancyOptions> options)
    {
        _routing = routing;
        ArgumentNullException.ThrowIfNull(options);
        Shared = ResettingDataSource.Builder(connectionString, options.Value.SharedSchema, "connection string").Build();
    }

    /// <summary>Connections from here see the shared schema only, whatever the current tenant.</summary>
    public NpgsqlDataSource Shared { get; }

    /// <summary>Opens a connection that serves the current tenant (or only the shared schema outside any scope).</summary>
    public async ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        NpgsqlConnection connection = await Shared.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _routing.RouteAsync(connection, justOpened: true, inTransaction: false, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc cref="OpenConnectionAsync"/>
    public NpgsqlConnection OpenConnection()
    {
        NpgsqlConnection connection = Shared.OpenConnection();
        try
        {
            _routing.Route(connection, justOpened: true, inTransaction: false);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public ValueTask DisposeAsync() => Shared.DisposeAsync();

    public void Dispose() => Shared.Dispose();
}

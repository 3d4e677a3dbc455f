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
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.NoResetOnClose)
        {
            // Without the pool reset a tenant's search_path would reach the next user of the connection (DESIGN.md §1).
            throw new NotSupportedException("'No Reset On Close=true' would leak one tenant's search_path to the next; remove it from the connection string.");
        }

        // The session default is the shared schema alone; the pool reset returns every connection to it.
        builder.ConnectionStringBuilder.SearchPath = PgIdentifier.Quote(options.Value.SharedSchema);
        Shared = builder.Build();
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

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Routing;

namespace Tenants.Shared;

/// <summary>
/// Where every connection comes from. One Npgsql pool for all tenants; <see cref="OpenConnectionAsync"/> hands out
/// connections routed to the current tenant, <see cref="Unrouted"/> ones that see only the shared schema; the busiest
/// tenants' EF Core contexts may get connections from <see cref="Dedicated"/> pools of their own.
/// </summary>
public sealed class TenantDataSource : IAsyncDisposable, IDisposable
{
    private readonly ITenantConnectionRouting _routing;

    /// <param name="connectionString">The app's connection string: the main pool's, and each dedicated pool's start.</param>
    /// <param name="routing">How a connection is routed to the current tenant.</param>
    /// <param name="options">The tenancy settings.</param>
    /// <param name="logger">Where the dedicated pools log promotions and demotions.</param>
    /// <param name="time">The clock the dedicated pools measure their windows on; the system's when null.</param>
    public TenantDataSource(
        string connectionString,
        ITenantConnectionRouting routing,
        IOptions<TenancyOptions> options,
        ILogger<DedicatedTenantPools>? logger = null,
        TimeProvider? time = null)
    {
        _routing = routing;
        ArgumentNullException.ThrowIfNull(options);
        Unrouted = ResettingDataSource.Builder(connectionString, options.Value.SharedSchema, "connection string").Build();
        NpgsqlDataSourceBuilder listening = ResettingDataSource.Builder(connectionString, options.Value.SharedSchema, "connection string");
        listening.ConnectionStringBuilder.Pooling = false;
        listening.Name = $"{listening.ConnectionStringBuilder.Database} catalog listener";
        Listening = listening.Build();
        Dedicated = new DedicatedTenantPools(connectionString, options.Value, logger ?? NullLogger<DedicatedTenantPools>.Instance, time);
    }

    /// <summary>The main pool, unrouted: connections from here see the shared schema only, whatever the current tenant.</summary>
    public NpgsqlDataSource Unrouted { get; }

    /// <summary>
    /// Connections that LISTEN for the catalog's announcements, held for the process's life: outside the pool, so that
    /// they never take a connection requests need. They see the shared schema only.
    /// </summary>
    public NpgsqlDataSource Listening { get; }

    /// <summary>Pools of their own for the busiest tenants' EF Core contexts; raw connections always come from <see cref="Unrouted"/>.</summary>
    public DedicatedTenantPools Dedicated { get; }

    /// <summary>
    /// Opens a connection that serves the current tenant (or only the shared schema outside any scope). Refused inside
    /// a TransactionScope (<see cref="NotSupportedException"/>).
    /// </summary>
    public async ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        AmbientTransactions.Refuse();
        NpgsqlConnection connection = Unrouted.CreateConnection();
        try
        {
            await _routing.ReserveAsync(connection, cancellationToken).ConfigureAwait(false);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await _routing.RouteAsync(connection, justOpened: true, inTransaction: false, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            _routing.Unreserve(connection);
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc cref="OpenConnectionAsync"/>
    public NpgsqlConnection OpenConnection()
    {
        AmbientTransactions.Refuse();
        NpgsqlConnection connection = Unrouted.CreateConnection();
        try
        {
            _routing.Reserve(connection);
            connection.Open();
            _routing.Route(connection, justOpened: true, inTransaction: false);
            return connection;
        }
        catch
        {
            _routing.Unreserve(connection);
            connection.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Dedicated.DisposeAsync().ConfigureAwait(false);
        await Unrouted.DisposeAsync().ConfigureAwait(false);
        await Listening.DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        Dedicated.DisposeAsync().AsTask().GetAwaiter().GetResult(); // completes synchronously
        Unrouted.Dispose();
        Listening.Dispose();
    }
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Tenants.Shared.Routing;

namespace Tenants.Shared;

/// <summary>
/// Where every connection comes from. One Npgsql pool for all tenants; <see cref="OpenConnectionAsync"/> hands out
/// connections routed to the current tenant, <see cref="Shared"/> ones that see only the shared schema; the busiest
/// tenants' EF Core contexts may get connections from <see cref="Dedicated"/> pools of their own.
/// </summary>
public sealed class TenantDataSource : IAsyncDisposable, IDisposable
{
    private readonly ITenantConnectionRouting _routing;

    public TenantDataSource(string connectionString, ITenantConnectionRouting routing, IOptions<TenancyOptions> options, ILogger<DedicatedTenantPools>? logger = null)
    {
        _routing = routing;
        ArgumentNullException.ThrowIfNull(options);
        Shared = ResettingDataSource.Builder(connectionString, options.Value.SharedSchema, "connection string").Build();
        NpgsqlDataSourceBuilder listening = ResettingDataSource.Builder(connectionString, options.Value.SharedSchema, "connection string");
        listening.ConnectionStringBuilder.Pooling = false;
        listening.Name = $"{listening.ConnectionStringBuilder.Database} catalog listener";
        Listening = listening.Build();
        Dedicated = new DedicatedTenantPools(connectionString, options.Value, logger ?? NullLogger<DedicatedTenantPools>.Instance);
    }

    /// <summary>Connections from here see the shared schema only, whatever the current tenant.</summary>
    public NpgsqlDataSource Shared { get; }

    /// <summary>
    /// Connections that LISTEN for the catalog's announcements, held for the process's life: outside the pool, so that
    /// they never take a connection requests need. They see the shared schema only.
    /// </summary>
    public NpgsqlDataSource Listening { get; }

    /// <summary>Pools of their own for the busiest tenants' EF Core contexts; raw connections always come from <see cref="Shared"/>.</summary>
    public DedicatedTenantPools Dedicated { get; }

    /// <summary>
    /// Opens a connection that serves the current tenant (or only the shared schema outside any scope). Refused inside
    /// a TransactionScope (<see cref="NotSupportedException"/>).
    /// </summary>
    public async ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        AmbientTransactions.Refuse();
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
        AmbientTransactions.Refuse();
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

    public async ValueTask DisposeAsync()
    {
        await Dedicated.DisposeAsync().ConfigureAwait(false);
        await Shared.DisposeAsync().ConfigureAwait(false);
        await Listening.DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        Dedicated.DisposeAsync().AsTask().GetAwaiter().GetResult(); // completes synchronously
        Shared.Dispose();
        Listening.Dispose();
    }
}

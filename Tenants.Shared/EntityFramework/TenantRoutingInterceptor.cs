using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tenants.Shared.Routing;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// Routes EF Core's connections to the current tenant; the context's connection (<see cref="TenantRoutedConnection"/>)
/// calls in here as it is created, opened, closed and disposed. A context configured by UseTenantSchemas gets its
/// connection from here when it first needs one: from the dedicated pool of the tenant it was created for, if that
/// tenant holds one with a connection to spare, else from the main pool. A connection fresh from the pool is routed in
/// the same round trip as its first query (the routing statements prefixed to it), so reads pay no round trip for
/// routing; writes, and a connection that serves another tenant already (a context opened before the scope, say), are
/// routed by a separate command first; each of the context's commands asks for its route as it runs
/// (<see cref="TenantRoutedCommand"/>). A context created in a tenant's scope keeps that connection until it is
/// disposed, once it has opened it there, so that its tenant is routed once per context rather than once per query. One
/// per context: EF Core builds it in the context's scope of its internal service provider
/// (<see cref="TenantRoutingExtension"/>), and a context never runs two commands at once. A pooled context keeps it
/// across leases: returned to the pool, the context's connection is closed, any dedicated pool's place is given back,
/// and the tenant forgotten (<see cref="ResetState"/>). The connection object serves the next lease if it fits that
/// lease's tenant: a main-pool object any tenant without a dedicated pool, a dedicated pool's object its own tenant
/// while that pool has a place.
/// </summary>
internal sealed class TenantRoutingInterceptor : IDbTransactionInterceptor, IResettableService
{
    private readonly ITenantConnectionRouting _routing;

    // Where the context's connection comes from; null when the app gives the context its connection itself.
    private readonly TenantDataSource? _dataSource;

    private readonly ICurrentDbContext _context;

    // The context's EF connection, once it has asked for its connection here: reset and disposed through it.
    private IRelationalConnection? _relational;

    // The tenant whose scope the context was created (or leased from the pool) in, if any.
    private string? _createdFor;

    // Counts the context's leases, so that a tenant scope's release reaches the context only while it holds the lease.
    private int _lease;

    // The connection made for this context here, until EF disposes it; the app may give the context another since.
    private DbConnection? _own;

    // The connection lent to this context by its tenant's dedicated pool, if any: released when disposed.
    private DedicatedTenantPools.DedicatedConnection? _dedicated;

    // Whether EF's last close was suppressed: the connection then stays open, routed for whichever scope used it last.
    private bool _kept;

    public TenantRoutingInterceptor(IDbContextOptions options, ICurrentDbContext context)
    {
        _context = context;
        TenantRoutingExtension extension = options.FindExtension<TenantRoutingExtension>()
            ?? throw new InvalidOperationException("Tenant routing's interceptor runs only in a context configured with UseTenantSchemas or AddTenantRouting.");
        (_routing, _dataSource) = (extension.Routing, extension.DataSource);
    }

    /// <summary>
    /// Records the tenant scope current as <paramref name="context"/> is created or leased (AddTenantDbContext's
    /// activation), and enlists the context with that scope, whose <see cref="TenantScope.ReleaseConnections"/> closes
    /// what the context keeps open.
    /// </summary>
    public static TContext CreatedFor<TContext>(TContext context)
        where TContext : DbContext
    {
        // The interceptor is the context's own (scoped in EF's internal provider), so this reaches no other context.
        TenantRoutingInterceptor interceptor = context.GetService<TenantRoutingInterceptor>();
        TenantScope? scope = TenantContext.CurrentScope;
        interceptor.Lease(scope?.Schema);
        scope?.Keep(interceptor, interceptor._lease);
        return context;
    }

    /// <summary>
    /// Closes the connection the context keeps open between commands, unless a transaction or a command uses it, or
    /// the context has gone back to the pool since <paramref name="lease"/>.
    /// </summary>
    internal void ReleaseKept(int lease)
    {
        if (lease == _lease && _kept && _own is NpgsqlConnection { FullState: ConnectionState.Open } connection && _context.Context.Database.CurrentTransaction is null)
        {
            _kept = false;
            connection.Close(); // through the pool reset; EF opens it again for the context's next command
        }
    }

    /// <summary>
    /// The context's connection, made when EF Core first needs one (UseTenantSchemas configures none): from the
    /// tenant's dedicated pool, else the main pool. Null when the app gives the context its connection itself. EF Core
    /// owns it and disposes it with the context.
    /// </summary>
    internal DbConnection? CreateConnection(IRelationalConnection relational)
    {
        if (_dataSource is null)
        {
            return null;
        }

        _relational = relational;
        _dedicated = _createdFor is not null ? _dataSource.Dedicated.TryRent(_createdFor) : null;
        _own = _dedicated?.Connection ?? _dataSource.Unrouted.CreateConnection();
        return _own;
    }

    /// <summary>
    /// Before the context's connection opens: the tenant's share of the main pool is waited for first, so that no
    /// pooled connection is held meanwhile.
    /// </summary>
    internal void Opening(DbConnection connection)
    {
        AmbientTransactions.Refuse();
        if (FromMainPool(connection))
        {
            _routing.Reserve(Npgsql(connection));
        }
    }

    /// <inheritdoc cref="Opening"/>
    internal async ValueTask OpeningAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        AmbientTransactions.Refuse();
        if (FromMainPool(connection))
        {
            await _routing.ReserveAsync(Npgsql(connection), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The open failed (or was canceled): the share waited for goes back.</summary>
    internal void OpenFailed(DbConnection connection)
    {
        if (connection is NpgsqlConnection npgsql)
        {
            _routing.Unreserve(npgsql);
        }
    }

    /// <summary>The connection opened, in its pool's reset state.</summary>
    internal void Opened(DbConnection connection) => _routing.Opened(Npgsql(connection), DefaultTenant(connection));

    // A connection kept open may serve another scope's tenant when a transaction starts on it: routed inside the
    // transaction, a rollback could undo the route, so the routing refuses that; routed before BEGIN, it stands. For
    // the tenant it serves already this runs nothing.
    public InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
    {
        if (_kept)
        {
            _routing.Route(Npgsql(connection), justOpened: false, inTransaction: false);
        }

        return result;
    }

    public async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        if (_kept)
        {
            await _routing.RouteAsync(Npgsql(connection), justOpened: false, inTransaction: false, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>
    /// The context goes back to the pool: EF Core closes its connection and keeps the object for the next lease. A
    /// dedicated pool's connection gives its place in that pool back at once; <see cref="Lease"/> decides whether the
    /// object may serve the next lease.
    /// </summary>
    public void ResetState()
    {
        if (_dedicated is not null)
        {
            // Closed first (EF Core's own reset, which may come later, finds it closed): only then is its place free.
            _relational!.ResetState();
            _dedicated.Release();
        }

        Forget();
    }

    public async Task ResetStateAsync(CancellationToken cancellationToken = default)
    {
        if (_dedicated is not null)
        {
            await _relational!.ResetStateAsync(cancellationToken).ConfigureAwait(false);
            _dedicated.Release();
        }

        Forget();
    }

    /// <summary>EF Core disposed the connection: a dedicated pool's place goes back, and the connection is forgotten.</summary>
    internal void Disposed(DbConnection connection)
    {
        if (!ReferenceEquals(connection, _own))
        {
            return;
        }

        _dedicated?.Release();
        (_own, _dedicated, _kept) = (null, null, false);
    }

    /// <summary>
    /// Whether the command about to run may run as EF Core runs it, with nothing to route nor anything to record should
    /// it fail: the context's connection is open and serves the current tenant already (a context's second query, say),
    /// or it is closed and opens serving it (a dedicated pool's connection, in its own tenant's scope), EF Core opening
    /// it as it opens any. Inside a transaction too: a route that stands was made before it began, and no rollback
    /// undoes that.
    /// </summary>
    internal bool Ready(IRelationalConnection connection)
    {
        AmbientTransactions.Refuse(); // every command: a connection kept open since before a TransactionScope began, say
        return connection.DbConnection is NpgsqlConnection npgsql
            && (npgsql.FullState == ConnectionState.Open ? _routing.Serves(npgsql) : OpensServing(npgsql));
    }

    /// <summary>
    /// Routes the context's open connection for the command about to run: by a command of its own, or, when the command
    /// <paramref name="batches"/>, by the statements returned, which it puts before its text. Null when it carries none.
    /// </summary>
    internal string? Prepare(IRelationalConnection connection, bool batches)
    {
        NpgsqlConnection npgsql = Npgsql(connection.DbConnection);
        if (batches && _routing.BatchPrefix(npgsql) is { } prefix)
        {
            return prefix;
        }

        _routing.Route(npgsql, justOpened: false, inTransaction: connection.CurrentTransaction is not null);
        return null;
    }

    /// <inheritdoc cref="Prepare"/>
    internal async ValueTask<string?> PrepareAsync(IRelationalConnection connection, bool batches, CancellationToken cancellationToken)
    {
        NpgsqlConnection npgsql = Npgsql(connection.DbConnection);
        if (batches && _routing.BatchPrefix(npgsql) is { } prefix)
        {
            return prefix;
        }

        await _routing.RouteAsync(npgsql, justOpened: false, inTransaction: connection.CurrentTransaction is not null, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>A command that carried the prefix routing to <paramref name="tenant"/> completed: that route stands.</summary>
    internal void Routed(IRelationalConnection connection, string? tenant) =>
        _routing.Batched(Npgsql(connection.DbConnection), tenant, inTransaction: connection.CurrentTransaction is not null);

    // A failed prefixed command took its routing down with it: nothing to record. Inside a transaction, a rollback to a
    // savepoint may also undo an earlier route, so the routing no longer trusts it.
    internal void Failed(IRelationalConnection connection)
    {
        if (connection.DbConnection is NpgsqlConnection npgsql)
        {
            _routing.Failed(npgsql, inTransaction: connection.CurrentTransaction is not null);
        }
    }

    /// <summary>
    /// Whether EF Core's close after a use leaves the connection open. Each reopen would take a connection through the
    /// pool reset (DISCARD ALL) and route it again: two routing statements and a reset per query instead of per
    /// context. Only the context's own connection, in the scope it was taken in, when healthy: elsewhere, or broken,
    /// the context closes and reopens as EF would.
    /// </summary>
    internal bool KeepOpen(DbConnection connection) =>
        _kept = _createdFor is not null
            && ReferenceEquals(connection, _own)
            && connection.State == ConnectionState.Open
            && string.Equals(TenantContext.CurrentTenant, _createdFor, StringComparison.Ordinal);

    // The context's own connection, made here from the main pool (not lent by a dedicated pool, nor the app's own).
    private bool FromMainPool(DbConnection connection) => _dataSource is not null && _dedicated is null && ReferenceEquals(connection, _own);

    // A dedicated pool's connection opens with its own tenant's route in its startup parameters.
    private bool OpensServing(NpgsqlConnection connection) =>
        connection.FullState == ConnectionState.Closed
        && DefaultTenant(connection) is { } tenant
        && string.Equals(tenant, TenantContext.CurrentTenant, StringComparison.Ordinal);

    // Only the lent connection itself: the context may have been given another one since (SetDbConnection).
    private string? DefaultTenant(DbConnection connection) =>
        _dedicated is not null && ReferenceEquals(connection, _dedicated.Connection) ? _dedicated.Tenant : null;

    // A lease begins in tenant's scope (null: outside any), and counts toward the tenant's share of the window. The
    // connection object a former lease kept serves it if it fits: a main-pool object when the tenant holds no
    // dedicated pool, a dedicated pool's object when it is the tenant's pool now and has a place free. Otherwise it
    // is disposed (closed, it holds no connection), and EF asks for one anew as it first needs one.
    private void Lease(string? tenant)
    {
        _createdFor = tenant;
        DedicatedTenantPools.Pool? pool = tenant is not null && _dataSource is not null ? _dataSource.Dedicated.Leased(tenant) : null;
        if (_own is not null && (_dedicated is null ? pool is not null : pool is null || !_dedicated.TryRenew(pool)))
        {
            _relational!.Dispose(); // through Disposed, which forgets it
        }
    }

    private void Forget()
    {
        (_createdFor, _kept) = (null, false);
        _lease++;
    }

    private static NpgsqlConnection Npgsql(DbConnection? connection) =>
        connection as NpgsqlConnection ?? throw TenantRoutingExtension.NotSupported(connection?.GetType().FullName ?? "(no connection)");
}

using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using Tenants.Shared.Routing;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// Routes EF Core's connections to the current tenant: once when EF opens a connection, and again before a command
/// when the connection serves another tenant (a context whose connection was opened before the scope, say).
/// </summary>
internal sealed class TenantRoutingInterceptor(ITenantConnectionRouting routing) : IDbConnectionInterceptor, IDbCommandInterceptor
{
    public void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) =>
        routing.Route(Npgsql(connection), justOpened: true, inTransaction: false);

    public Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default) =>
        routing.RouteAsync(Npgsql(connection), justOpened: true, inTransaction: false, cancellationToken).AsTask();

    public InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Route(command);
        return result;
    }

    public async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await RouteAsync(command, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Route(command);
        return result;
    }

    public async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await RouteAsync(command, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Route(command);
        return result;
    }

    public async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        await RouteAsync(command, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private void Route(DbCommand command) =>
        routing.Route(Npgsql(command.Connection), justOpened: false, inTransaction: command.Transaction is not null);

    private ValueTask RouteAsync(DbCommand command, CancellationToken cancellationToken) =>
        routing.RouteAsync(Npgsql(command.Connection), justOpened: false, inTransaction: command.Transaction is not null, cancellationToken);

    private static NpgsqlConnection Npgsql(DbConnection? connection) =>
        connection as NpgsqlConnection ?? throw PostgreSqlOnly.NotSupported(connection?.GetType().FullName ?? "(no connection)");
}

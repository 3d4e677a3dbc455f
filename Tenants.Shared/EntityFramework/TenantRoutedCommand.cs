using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// An EF Core command that routes its context's connection to the current tenant before it runs: in the same round
/// trip for a query (the routing statements prefixed to it), or by a command of its own for anything else. Routing
/// here, in EF Core's command pipeline, rather than in a command interceptor spares every command the interception
/// events EF Core builds for an interceptor, which cost more than the routing itself. What the connection serves is
/// the context's <see cref="TenantRoutingInterceptor"/>'s to track.
/// </summary>
internal sealed class TenantRoutedCommand(
    RelationalCommandBuilderDependencies dependencies,
    string commandText,
    string logCommandText,
    IReadOnlyList<IRelationalParameter> parameters)
    : RelationalCommand(dependencies, commandText, logCommandText, parameters)
{
    // The routing prefix for the command being created, during an execution that carries one. EF Core rents a command
    // to one connection at a time, which runs one command at a time.
    private string? _prefix;

    public override int ExecuteNonQuery(RelationalCommandParameterObject parameterObject) =>
        ToRoute(parameterObject) is { } routing
            ? Run(parameterObject, routing, static (command, p) => command.BaseExecuteNonQuery(p))
            : base.ExecuteNonQuery(parameterObject);

    public override Task<int> ExecuteNonQueryAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken = default) =>
        ToRoute(parameterObject) is { } routing
            ? RunAsync(parameterObject, routing, static (command, p, ct) => command.BaseExecuteNonQueryAsync(p, ct), cancellationToken)
            : base.ExecuteNonQueryAsync(parameterObject, cancellationToken);

    public override object? ExecuteScalar(RelationalCommandParameterObject parameterObject) =>
        ToRoute(parameterObject) is { } routing
            ? Run(parameterObject, routing, static (command, p) => command.BaseExecuteScalar(p))
            : base.ExecuteScalar(parameterObject);

    public override Task<object?> ExecuteScalarAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken = default) =>
        ToRoute(parameterObject) is { } routing
            ? RunAsync(parameterObject, routing, static (command, p, ct) => command.BaseExecuteScalarAsync(p, ct), cancellationToken)
            : base.ExecuteScalarAsync(parameterObject, cancellationToken);

    public override RelationalDataReader ExecuteReader(RelationalCommandParameterObject parameterObject) =>
        ToRoute(parameterObject) is { } routing
            ? Run(parameterObject, routing, static (command, p) => command.BaseExecuteReader(p))
            : base.ExecuteReader(parameterObject);

    public override Task<RelationalDataReader> ExecuteReaderAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken = default) =>
        ToRoute(parameterObject) is { } routing
            ? RunAsync(parameterObject, routing, static (command, p, ct) => command.BaseExecuteReaderAsync(p, ct), cancellationToken)
            : base.ExecuteReaderAsync(parameterObject, cancellationToken);

    public override DbCommand CreateDbCommand(RelationalCommandParameterObject parameterObject, Guid commandId, DbCommandMethod commandMethod)
    {
        DbCommand command = base.CreateDbCommand(parameterObject, commandId, commandMethod);
        if (_prefix is { } prefix)
        {
            // PostgreSQL runs the routing statements, then the command, as one implicit transaction, in one round trip.
            _prefix = null;
            command.CommandText = $"{prefix};\n{command.CommandText}";
        }

        return command;
    }

    protected override RelationalDataReader CreateRelationalDataReader() => new TenantRoutedDataReader();

    // Opened here (EF Core counts opens) so that the connection is routed before the command exists; the base class's
    // own open and close nest inside this one, and a reader holds the connection open until it is disposed.
    private T Run<T>(
        RelationalCommandParameterObject parameterObject,
        TenantRoutingInterceptor routing,
        Func<TenantRoutedCommand, RelationalCommandParameterObject, T> execute)
    {
        IRelationalConnection connection = parameterObject.Connection;
        connection.Open();
        try
        {
            _prefix = routing.Prepare(connection, Batches<T>(parameterObject));
            bool prefixed = _prefix is not null; // CreateDbCommand takes the prefix
            return Ran(execute(this, parameterObject), routing, prefixed);
        }
        catch
        {
            routing.Failed(connection);
            throw;
        }
        finally
        {
            _prefix = null;
            connection.Close();
        }
    }

    private async Task<T> RunAsync<T>(
        RelationalCommandParameterObject parameterObject,
        TenantRoutingInterceptor routing,
        Func<TenantRoutedCommand, RelationalCommandParameterObject, CancellationToken, Task<T>> execute,
        CancellationToken cancellationToken)
    {
        IRelationalConnection connection = parameterObject.Connection;
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _prefix = await routing.PrepareAsync(connection, Batches<T>(parameterObject), cancellationToken).ConfigureAwait(false);
            bool prefixed = _prefix is not null;
            return Ran(await execute(this, parameterObject, cancellationToken).ConfigureAwait(false), routing, prefixed);
        }
        catch
        {
            routing.Failed(connection);
            throw;
        }
        finally
        {
            _prefix = null;
            await connection.CloseAsync().ConfigureAwait(false);
        }
    }

    // Only a query read through a reader carries the routing in its own round trip: SaveChanges and bulk updates read
    // rows affected per statement, which a prefix would shift.
    private static bool Batches<T>(RelationalCommandParameterObject parameterObject) =>
        typeof(T) == typeof(RelationalDataReader) && parameterObject.CommandSource == CommandSource.LinqQuery;

    // A prefixed query's rows may still fail while they stream, rolling the prefix back: its route counts once the
    // reader closes cleanly.
    private static T Ran<T>(T result, TenantRoutingInterceptor routing, bool prefixed)
    {
        if (prefixed && result is TenantRoutedDataReader reader)
        {
            reader.RoutesOnClose(routing, TenantContext.CurrentTenant);
        }

        return result;
    }

    private int BaseExecuteNonQuery(RelationalCommandParameterObject parameterObject) => base.ExecuteNonQuery(parameterObject);

    private Task<int> BaseExecuteNonQueryAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken) =>
        base.ExecuteNonQueryAsync(parameterObject, cancellationToken);

    private object? BaseExecuteScalar(RelationalCommandParameterObject parameterObject) => base.ExecuteScalar(parameterObject);

    private Task<object?> BaseExecuteScalarAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken) =>
        base.ExecuteScalarAsync(parameterObject, cancellationToken);

    private RelationalDataReader BaseExecuteReader(RelationalCommandParameterObject parameterObject) => base.ExecuteReader(parameterObject);

    private Task<RelationalDataReader> BaseExecuteReaderAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken) =>
        base.ExecuteReaderAsync(parameterObject, cancellationToken);

    // The routing of the context whose connection runs the command (each context has its own), when the command needs
    // it. Null when there is nothing to route: the command runs as EF Core runs it, without the open, close and async
    // frame around it here.
    private static TenantRoutingInterceptor? ToRoute(RelationalCommandParameterObject parameterObject)
    {
        IRelationalConnection connection = parameterObject.Connection;
        TenantRoutingInterceptor routing = connection is TenantRoutedConnection routed
            ? routed.Routing // every command asks: the connection holds it, sparing a look-up in the context's services
            : connection.Context.GetService<TenantRoutingInterceptor>();
        return routing.Ready(connection) ? null : routing;
    }
}

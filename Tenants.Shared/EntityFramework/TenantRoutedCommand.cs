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
    public override int ExecuteNonQuery(RelationalCommandParameterObject parameterObject) =>
        Run(parameterObject, static (command, p) => command.BaseExecuteNonQuery(p));

    public override Task<int> ExecuteNonQueryAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken = default) =>
        RunAsync(parameterObject, static (command, p, ct) => command.BaseExecuteNonQueryAsync(p, ct), cancellationToken);

    public override object? ExecuteScalar(RelationalCommandParameterObject parameterObject) =>
        Run(parameterObject, static (command, p) => command.BaseExecuteScalar(p));

    public override Task<object?> ExecuteScalarAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken = default) =>
        RunAsync(parameterObject, static (command, p, ct) => command.BaseExecuteScalarAsync(p, ct), cancellationToken);

    public override RelationalDataReader ExecuteReader(RelationalCommandParameterObject parameterObject) =>
        Run(parameterObject, static (command, p) => command.BaseExecuteReader(p));

    public override Task<RelationalDataReader> ExecuteReaderAsync(RelationalCommandParameterObject parameterObject, CancellationToken cancellationToken = default) =>
        RunAsync(parameterObject, static (command, p, ct) => command.BaseExecuteReaderAsync(p, ct), cancellationToken);

    public override DbCommand CreateDbCommand(RelationalCommandParameterObject parameterObject, Guid commandId, DbCommandMethod commandMethod)
    {
        DbCommand command = base.CreateDbCommand(parameterObject, commandId, commandMethod);
        Routing(parameterObject).AddPrefix(command);
        return command;
    }

    // Opened here (EF Core counts opens) so that the connection is routed before the command exists; the base class's
    // own open and close nest inside this one, and a reader holds the connection open until it is disposed.
    private T Run<T>(RelationalCommandParameterObject parameterObject, Func<TenantRoutedCommand, RelationalCommandParameterObject, T> execute)
    {
        IRelationalConnection connection = parameterObject.Connection;
        connection.Open();
        TenantRoutingInterceptor routing = Routing(parameterObject);
        try
        {
            bool prefixed = routing.Prepare(connection, parameterObject.CommandSource);
            return Ran(execute(this, parameterObject), parameterObject, routing, prefixed);
        }
        catch
        {
            routing.Failed(connection);
            throw;
        }
        finally
        {
            connection.Close();
        }
    }

    private async Task<T> RunAsync<T>(
        RelationalCommandParameterObject parameterObject,
        Func<TenantRoutedCommand, RelationalCommandParameterObject, CancellationToken, Task<T>> execute,
        CancellationToken cancellationToken)
    {
        IRelationalConnection connection = parameterObject.Connection;
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        TenantRoutingInterceptor routing = Routing(parameterObject);
        try
        {
            bool prefixed = await routing.PrepareAsync(connection, parameterObject.CommandSource, cancellationToken).ConfigureAwait(false);
            return Ran(await execute(this, parameterObject, cancellationToken).ConfigureAwait(false), parameterObject, routing, prefixed);
        }
        catch
        {
            routing.Failed(connection);
            throw;
        }
        finally
        {
            await connection.CloseAsync().ConfigureAwait(false);
        }
    }

    // A prefixed query's rows may still fail while they stream, rolling the prefix back: a reader's route counts once
    // it closes cleanly, any other command's once it has run.
    private static T Ran<T>(T result, RelationalCommandParameterObject parameterObject, TenantRoutingInterceptor routing, bool prefixed)
    {
        if (result is not RelationalDataReader reader)
        {
            routing.Ran(parameterObject.Connection, prefixed);
        }
        else if (prefixed)
        {
            reader.Initialize(parameterObject.Connection, reader.DbCommand, routing.Reading(parameterObject.Connection, reader.DbDataReader), reader.CommandId, parameterObject.Logger);
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

    // The routing of the context whose connection runs the command: each context has its own.
    private static TenantRoutingInterceptor Routing(RelationalCommandParameterObject parameterObject) =>
        parameterObject.Connection.Context.GetService<TenantRoutingInterceptor>();
}

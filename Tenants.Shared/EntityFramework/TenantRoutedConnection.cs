using System.Data.Common;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Storage.Internal;

namespace Tenants.Shared.EntityFramework;

#pragma warning disable EF1001 // Internal EF Core API: Npgsql's connection, extended rather than replaced, keeps everything Npgsql does on it.

/// <summary>
/// The connection of a context with tenant routing: Npgsql's, whose creation, open, close and disposal its
/// context's <see cref="TenantRoutingInterceptor"/> takes part in. Overridden here rather than intercepted: a connection
/// interceptor makes EF Core build event objects on every open and close of every context, and it hears of a canceled
/// open as canceled, never as failed, whose share of the pool must go back all the same.
/// </summary>
internal sealed class TenantRoutedConnection(
    RelationalConnectionDependencies dependencies,
    NpgsqlDataSourceManager dataSourceManager,
    IDbContextOptions options,
    TenantRoutingInterceptor routing)
    : NpgsqlRelationalConnection(dependencies, dataSourceManager, options)
{
    // Set while EF Core closes the connection after its use (a command, a transaction): only then may the routing
    // keep it open. The pool's reset and the context's disposal close it for good.
    private bool _closingAfterUse;

    /// <summary>The routing of this connection's context.</summary>
    internal TenantRoutingInterceptor Routing => routing;

    protected override DbConnection CreateDbConnection() => routing.CreateConnection(this) ?? base.CreateDbConnection();

    protected override void OpenDbConnection(bool errorsExpected)
    {
        DbConnection connection = DbConnection;
        routing.Opening(connection);
        try
        {
            base.OpenDbConnection(errorsExpected);
        }
        catch
        {
            routing.OpenFailed(connection);
            throw;
        }

        routing.Opened(connection);
    }

    // Without an async frame when the share and the pool's connection are at hand, as they usually are.
    protected override Task OpenDbConnectionAsync(bool errorsExpected, CancellationToken cancellationToken)
    {
        DbConnection connection = DbConnection;
        ValueTask opening = routing.OpeningAsync(connection, cancellationToken);
        if (!opening.IsCompletedSuccessfully)
        {
            return OpenAfterShareAsync(opening, connection, errorsExpected, cancellationToken);
        }

        opening.GetAwaiter().GetResult();
        Task open;
        try
        {
            open = base.OpenDbConnectionAsync(errorsExpected, cancellationToken);
        }
        catch
        {
            routing.OpenFailed(connection);
            throw;
        }

        if (!open.IsCompletedSuccessfully)
        {
            return OpenedAsync(open, connection);
        }

        routing.Opened(connection);
        return Task.CompletedTask;
    }

    public override bool Close()
    {
        _closingAfterUse = true;
        try
        {
            return base.Close();
        }
        finally
        {
            _closingAfterUse = false;
        }
    }

    public override Task<bool> CloseAsync()
    {
        _closingAfterUse = true;
        bool pending = false;
        try
        {
            Task<bool> closing = base.CloseAsync();
            pending = !closing.IsCompleted;
            return pending ? ClosedAsync(closing) : closing;
        }
        finally
        {
            if (!pending)
            {
                _closingAfterUse = false;
            }
        }
    }

    protected override void CloseDbConnection()
    {
        if (!KeepOpen())
        {
            base.CloseDbConnection();
        }
    }

    protected override Task CloseDbConnectionAsync() => KeepOpen() ? Task.CompletedTask : base.CloseDbConnectionAsync();

    protected override void DisposeDbConnection()
    {
        DbConnection connection = DbConnection;
        base.DisposeDbConnection();
        routing.Disposed(connection);
    }

    protected override async ValueTask DisposeDbConnectionAsync()
    {
        DbConnection connection = DbConnection;
        await base.DisposeDbConnectionAsync().ConfigureAwait(false);
        routing.Disposed(connection);
    }

    private bool KeepOpen() => _closingAfterUse && routing.KeepOpen(DbConnection);

    private async Task OpenAfterShareAsync(ValueTask opening, DbConnection connection, bool errorsExpected, CancellationToken cancellationToken)
    {
        await opening.ConfigureAwait(false);
        await OpenedAsync(base.OpenDbConnectionAsync(errorsExpected, cancellationToken), connection).ConfigureAwait(false);
    }

    private async Task OpenedAsync(Task open, DbConnection connection)
    {
        try
        {
            await open.ConfigureAwait(false);
        }
        catch
        {
            routing.OpenFailed(connection);
            throw;
        }

        routing.Opened(connection);
    }

    private async Task<bool> ClosedAsync(Task<bool> closing)
    {
        try
        {
            return await closing.ConfigureAwait(false);
        }
        finally
        {
            _closingAfterUse = false;
        }
    }
}

using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace Tenants.Shared.EntityFramework;

/// <summary>
/// The reader of a <see cref="TenantRoutedCommand"/>. For a query that carried the routing prefix, it records the
/// route once it closes with no error on the way: PostgreSQL runs the prefix and the query as one implicit transaction
/// (or inside the app's), so a query that fails while its rows stream takes the routing down with it.
/// </summary>
internal sealed class TenantRoutedDataReader : RelationalDataReader
{
    // Set while the reader's query carries a prefix whose route is not recorded yet.
    private TenantRoutingInterceptor? _routing;
    private string? _tenant;

    public override void Initialize(
        IRelationalConnection relationalConnection,
        DbCommand command,
        DbDataReader reader,
        Guid commandId,
        IRelationalCommandDiagnosticsLogger? logger)
    {
        base.Initialize(relationalConnection, command, reader, commandId, logger);
        (_routing, _tenant) = (null, null);
    }

    /// <summary>The query carried the prefix routing to <paramref name="tenant"/>: its route stands once the reader closes cleanly.</summary>
    internal void RoutesOnClose(TenantRoutingInterceptor routing, string? tenant) => (_routing, _tenant) = (routing, tenant);

    public override bool Read()
    {
        try
        {
            return base.Read();
        }
        catch
        {
            _routing = null;
            throw;
        }
    }

    public override Task<bool> ReadAsync(CancellationToken cancellationToken = default)
    {
        Task<bool> read;
        try
        {
            read = base.ReadAsync(cancellationToken);
        }
        catch
        {
            _routing = null;
            throw;
        }

        // Most reads complete at once (the row is buffered): only a pending one pays for watching it.
        return read.IsCompletedSuccessfully || _routing is null ? read : Watched(read);
    }

    public override void Close()
    {
        TenantRoutingInterceptor? routing = Unwatched();
        base.Close();
        routing?.Routed(RelationalConnection, _tenant);
    }

    public override async ValueTask CloseAsync()
    {
        TenantRoutingInterceptor? routing = Unwatched();
        await base.CloseAsync().ConfigureAwait(false);
        routing?.Routed(RelationalConnection, _tenant);
    }

    // EF Core's own DisposeAsync closes the provider's reader directly, bypassing CloseAsync, unless it logs the close:
    // a reader still watching closes through CloseAsync first. The common, unwatched reader pays no extra state machine.
    public override ValueTask DisposeAsync() => _routing is null ? base.DisposeAsync() : CloseThenDisposeAsync();

    private async ValueTask CloseThenDisposeAsync()
    {
        try
        {
            await CloseAsync().ConfigureAwait(false);
        }
        finally
        {
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<bool> Watched(Task<bool> read)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch
        {
            _routing = null;
            throw;
        }
    }

    // Taken before the close: a close that fails records nothing, nor does a second close after it.
    private TenantRoutingInterceptor? Unwatched()
    {
        TenantRoutingInterceptor? routing = _routing;
        _routing = null;
        return routing;
    }
}

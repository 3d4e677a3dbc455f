using Tenants.Shared.EntityFramework;

namespace Tenants.Shared;

/// <summary>
/// An open tenant scope. Disposing it restores the tenant of the nearest enclosing scope still open (null when none).
/// Connections opened inside it route to <see cref="Schema"/>; Npgsql's pool reset undoes that when they go back.
/// </summary>
public sealed class TenantScope : IDisposable, IAsyncDisposable
{
    private bool _closed;
    private TenantLogScope? _logScope;

    // The tenant contexts leased in this scope or one nested in it; made when the first one is leased.
    private KeptConnections? _kept;

    internal TenantScope(string schema, TenantScope? outer, Capacity.TenantPlan? limits)
    {
        Schema = schema;
        Outer = outer;
        Limits = limits;
    }

    /// <summary>The tenant's schema name (equal to the tenant's name).</summary>
    public string Schema { get; }

    internal TenantScope? Outer { get; }

    /// <summary>The tenant's plan's limits as the scope was entered; null when the scope's context knows no plans.</summary>
    internal Capacity.TenantPlan? Limits { get; }

    /// <summary>What log lines written inside the scope carry; made when the first one is written.</summary>
    internal TenantLogScope LogScope => _logScope ??= new TenantLogScope(Schema);

    // Disposed: an inner scope disposed after it goes back past it. Volatile: another flow may have disposed it.
    internal bool IsClosed => Volatile.Read(ref _closed);

    internal void Close() => Volatile.Write(ref _closed, true);

    /// <summary>
    /// Enlists a context leased in this scope for <see cref="ReleaseConnections"/>, with the outermost scope still
    /// open on the flow: the one whose owner (a request, a job) knows when its database work is done.
    /// </summary>
    internal void Keep(TenantRoutingInterceptor context, int lease)
    {
        TenantScope outermost = this;
        for (TenantScope? outer = Outer; outer is not null; outer = outer.Outer)
        {
            if (!outer.IsClosed)
            {
                outermost = outer;
            }
        }

        KeptConnections? kept = Volatile.Read(ref outermost._kept)
            ?? Interlocked.CompareExchange(ref outermost._kept, new KeptConnections(context, lease), null);
        kept?.Add(context, lease); // null: the first, enlisted as the list was made
    }

    /// <summary>
    /// Hands back to the pool every connection that a tenant context leased in this scope (or in one nested in it)
    /// keeps open between commands, outside any transaction; a context that runs another command opens one again. Call
    /// it once the scope's database work is done but the scope goes on (the Api: as the response starts, before a slow
    /// client has read the body), and only while the scope's contexts are idle: like any EF Core context, they are
    /// not for concurrent use.
    /// </summary>
    public void ReleaseConnections() => Volatile.Read(ref _kept)?.Release();

    public void Dispose() => TenantContext.Restore(this);

    // Deliberately not async: an async method's AsyncLocal changes would not reach the caller.
    public ValueTask DisposeAsync()
    {
        TenantContext.Restore(this);
        return ValueTask.CompletedTask;
    }
}

namespace Tenants.Shared;

/// <summary>
/// An open tenant scope. Disposing it restores the tenant of the nearest enclosing scope still open (null when none).
/// Connections opened inside it route to <see cref="Schema"/>; Npgsql's pool reset undoes that when they go back.
/// </summary>
public sealed class TenantScope : IDisposable, IAsyncDisposable
{
    private bool _closed;
    private TenantLogScope? _logScope;

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

    public void Dispose() => TenantContext.Restore(this);

    // Deliberately not async: an async method's AsyncLocal changes would not reach the caller.
    public ValueTask DisposeAsync()
    {
        TenantContext.Restore(this);
        return ValueTask.CompletedTask;
    }
}

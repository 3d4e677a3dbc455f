using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Tenants.Shared;

/// <summary>
/// The app's log scopes with the current tenant as the outermost one: every line written inside a
/// <see cref="TenantContext"/> scope carries <c>tenant.id</c>, whoever writes it (an endpoint, EF Core, a job, a task
/// started inside the scope), with no <c>BeginScope</c> to remember. The tenant is read from the ambient scope when a
/// provider asks for a line's scopes, so work that writes no line pays nothing. Every provider that takes the factory's
/// scopes (<see cref="ISupportExternalScope"/>: console, OpenTelemetry and most others) sees it; the rest of the stack,
/// activity tracking included, is the default one.
/// </summary>
internal sealed class TenantLogScopeProvider : IExternalScopeProvider
{
    private readonly IExternalScopeProvider _scopes;

    public TenantLogScopeProvider(IOptionsMonitor<LoggerFilterOptions> filters, IOptions<LoggerFactoryOptions> options)
    {
        // The default stack is not public; a logger factory built without a scope provider hands its own to its providers.
        var capture = new ScopesCapture();
        using (new LoggerFactory([capture], filters, options))
        {
            _scopes = capture.Scopes ?? throw new InvalidOperationException("The logger factory handed out no scope provider.");
        }
    }

    public void ForEachScope<TState>(Action<object?, TState> callback, TState state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (TenantContext.CurrentScope is { } scope)
        {
            callback(scope.LogScope, state);
        }

        _scopes.ForEachScope(callback, state);
    }

    public IDisposable Push(object? state) => _scopes.Push(state);

    private sealed class ScopesCapture : ILoggerProvider, ISupportExternalScope
    {
        public IExternalScopeProvider? Scopes { get; private set; }

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => Scopes = scopeProvider;

        public ILogger CreateLogger(string categoryName) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}

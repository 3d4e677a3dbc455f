namespace Tenants.Shared.EntityFramework;

/// <summary>
/// The tenant contexts created in one DI scope (one request's), whose connections they keep open between commands.
/// <see cref="Release"/> hands those connections back to the pool once the scope's database work is done (the Api:
/// as its response starts), rather than when the scope is disposed, after a slow client has read the whole body.
/// </summary>
public sealed class KeptConnections
{
    private readonly List<(TenantRoutingInterceptor Context, int Lease)> _contexts = [];

    /// <summary>
    /// Closes every connection a context of this scope keeps open between commands, outside any transaction; a
    /// context that runs another command opens one again. Call it only once the scope's contexts are idle: like any
    /// EF Core context, they are not for concurrent use.
    /// </summary>
    public void Release()
    {
        lock (_contexts)
        {
            foreach ((TenantRoutingInterceptor context, int lease) in _contexts)
            {
                context.ReleaseKept(lease);
            }
        }
    }

    internal void Add(TenantRoutingInterceptor context, int lease)
    {
        lock (_contexts)
        {
            _contexts.Add((context, lease));
        }
    }
}

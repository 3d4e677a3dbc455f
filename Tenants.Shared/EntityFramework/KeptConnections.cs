namespace Tenants.Shared.EntityFramework;

/// <summary>
/// The tenant contexts leased in one tenant scope, whose connections they keep open between commands until
/// <see cref="TenantScope.ReleaseConnections"/> hands them back to the pool.
/// </summary>
internal sealed class KeptConnections
{
    // One context per scope is the common case (a request's); further ones, from tasks the scope started, go to the list.
    private (TenantRoutingInterceptor Context, int Lease) _first;
    private List<(TenantRoutingInterceptor Context, int Lease)>? _more;

    internal KeptConnections(TenantRoutingInterceptor context, int lease) => _first = (context, lease);

    internal void Add(TenantRoutingInterceptor context, int lease)
    {
        lock (this)
        {
            (_more ??= []).Add((context, lease));
        }
    }

    internal void Release()
    {
        lock (this)
        {
            _first.Context.ReleaseKept(_first.Lease);
            if (_more is not null)
            {
                foreach ((TenantRoutingInterceptor context, int lease) in _more)
                {
                    context.ReleaseKept(lease);
                }
            }
        }
    }
}

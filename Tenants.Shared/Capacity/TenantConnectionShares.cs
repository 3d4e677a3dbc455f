using System.Collections.Concurrent;

namespace Tenants.Shared.Capacity;

/// <summary>
/// Each tenant's share of the main pool: the connections serving a tenant at once number at most its plan's
/// <see cref="TenantPlan.ConcurrentConnections"/>; past it, the tenant's work waits up to its plan's
/// <see cref="TenantPlan.ConnectionWait"/>, then gets <see cref="TenantBusyException"/>. One small entry per tenant
/// served; a new limit (a plan changed) starts a new share, and connections held under the old one go back to it.
/// </summary>
internal sealed class TenantConnectionShares
{
    private readonly ConcurrentDictionary<string, Share> _shares = new(StringComparer.Ordinal);

    /// <summary>A connection of <paramref name="tenant"/>'s share if one is free now, else null.</summary>
    public Share? TryTake(string tenant, TenantPlan limits)
    {
        Share share = For(tenant, limits);
        return share.Gate.Wait(0) ? share : null;
    }

    public Share Take(string tenant, TenantPlan limits)
    {
        Share share = For(tenant, limits);
        return share.Gate.Wait(limits.ConnectionWait) ? share : throw new TenantBusyException(tenant, share.Limit, limits.ConnectionWait);
    }

    public async ValueTask<Share> TakeAsync(string tenant, TenantPlan limits, CancellationToken cancellationToken)
    {
        Share share = For(tenant, limits);
        return await share.Gate.WaitAsync(limits.ConnectionWait, cancellationToken).ConfigureAwait(false)
            ? share
            : throw new TenantBusyException(tenant, share.Limit, limits.ConnectionWait);
    }

    private Share For(string tenant, TenantPlan limits)
    {
        int limit = limits.ConcurrentConnections;
        while (true)
        {
            Share share = _shares.GetOrAdd(tenant, static (name, limit) => new Share(name, limit), limit);
            if (share.Limit == limit)
            {
                return share;
            }

            var replacement = new Share(tenant, limit);
            if (_shares.TryUpdate(tenant, replacement, share))
            {
                return replacement;
            }
        }
    }

    /// <summary>One tenant's connections under one limit; each connection taken is given back to the share it came from.</summary>
    internal sealed class Share(string tenant, int limit)
    {
        public string Tenant { get; } = tenant;

        public int Limit { get; } = limit;

        public SemaphoreSlim Gate { get; } = new(limit, limit);

        /// <summary>Connections of the tenant serving it now under this share.</summary>
        public int InUse => Limit - Gate.CurrentCount;

        public void Release() => Gate.Release();
    }
}

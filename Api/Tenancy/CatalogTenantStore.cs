using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Api.Tenancy;

/// <summary>
/// The catalog as a tenant store, with a short cache of found tenants so that a request costs no catalog round trip.
/// A tenant in use is re-read in the background once its entry is half way to expiry, together with the others due
/// meanwhile (one catalog query for all of them), so that requests for it never wait on the catalog; a tenant unused
/// for the cache duration is forgotten. Misses and refusals are never cached, and a tenant another process changes is
/// forgotten as soon as the catalog announces it (<see cref="TenantChanges"/>): deactivated or deleted anywhere, it
/// stops being served here at once; should an announcement be lost, within <see cref="TenancyOptions.RegistryCacheDuration"/>.
/// </summary>
public sealed partial class CatalogTenantStore : ITenantStore
{
    private readonly ITenantCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly ILogger<CatalogTenantStore> _logger;
    private readonly ExpiringCache<TenantRecord> _found;

    // Refreshes claimed within this long share one catalog query; a small part of the half duration an entry has left.
    private readonly TimeSpan _gather;
    private readonly ConcurrentQueue<string> _due = new();
    private int _refreshScheduled;

    public CatalogTenantStore(ITenantCatalog catalog, TenantChanges changes, IOptions<TenancyOptions> options, TimeProvider time, ILogger<CatalogTenantStore> logger)
    {
        ArgumentNullException.ThrowIfNull(changes);
        (_catalog, _time, _logger) = (catalog, time, logger);
        _found = new ExpiringCache<TenantRecord>(options.Value.RegistryCacheDuration, time);
        _gather = options.Value.RegistryCacheDuration / 16;
        changes.Changed += tenant =>
        {
            if (tenant is null)
            {
                _found.Clear();
            }
            else
            {
                Forget(tenant);
            }
        };
    }

    public async ValueTask<TenantRecord?> FindAsync(string name, CancellationToken cancellationToken)
    {
        if (_found.TryGet(name, out TenantRecord? hit, out bool refreshDue))
        {
            if (refreshDue)
            {
                _due.Enqueue(name);
                ScheduleRefresh();
            }

            return hit;
        }

        TenantRecord? record = await _catalog.FindAsync(name, cancellationToken);
        _found.SweepExpired(); // rides on the catalog round trip just paid

        // Only a served tenant is cached: one still being provisioned is asked again until it is ready.
        if (record is { IsServed: true })
        {
            _found.Set(name, record);
        }

        return record;
    }

    public void Forget(string name) => _found.Remove(name);

    private void ScheduleRefresh()
    {
        if (Interlocked.Exchange(ref _refreshScheduled, 1) == 1)
        {
            return;
        }

        // Not the request's work: its trace, tenant scope and cancellation stay out of the refresh.
        using (ExecutionContext.SuppressFlow())
        {
            Task gathered = Task.Delay(_gather, _time, CancellationToken.None); // the window opens with the first claim
            _ = Task.Run(() => RefreshDueAsync(gathered), CancellationToken.None);
        }
    }

    // A refresh that fails leaves its entries to expire; the next request for each asks the catalog itself.
    private async Task RefreshDueAsync(Task gathered)
    {
        await gathered;

        // Cleared before draining: a name queued from here on schedules the next refresh.
        Volatile.Write(ref _refreshScheduled, 0);
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (_due.TryDequeue(out string? name))
        {
            names.Add(name);
        }

        if (names.Count == 0)
        {
            return;
        }

        try
        {
            Dictionary<string, TenantRecord> records = (await _catalog.FindManyAsync(names, CancellationToken.None)).ToDictionary(r => r.Name, StringComparer.Ordinal);
            foreach (string name in names)
            {
                // One no longer served is dropped at once; one forgotten meanwhile stays forgotten.
                if (records.TryGetValue(name, out TenantRecord? record) && record.IsServed)
                {
                    _found.Refresh(name, record);
                }
                else
                {
                    _found.Remove(name);
                }
            }

            _found.SweepExpired();
            LogRefreshed(_logger, names.Count);
        }
        catch (Exception e)
        {
            LogRefreshFailed(_logger, e, names.Count);
        }
    }

    [LoggerMessage(EventName = "TenantsRefreshed", Level = LogLevel.Debug, Message = "Re-read {Count} tenants in use from the catalog")]
    private static partial void LogRefreshed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-reading {Count} tenants in use from the catalog failed; their cached entries serve until they expire")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, int count);
}

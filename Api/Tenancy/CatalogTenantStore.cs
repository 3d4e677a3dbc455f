using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Api.Tenancy;

/// <summary>
/// The catalog as a tenant store, with a short cache of found tenants so that a request costs no catalog round trip.
/// Misses and refusals are never cached: a tenant registered or reactivated by another process is served at once, and
/// one deactivated there stops being served within <see cref="TenancyOptions.RegistryCacheDuration"/>. Expired entries
/// are swept on the miss path at most once per cache duration, so the cache holds the tenants served lately, not every
/// tenant served since the process started.
/// </summary>
public sealed class CatalogTenantStore(ITenantCatalog catalog, IOptions<TenancyOptions> options) : ITenantStore
{
    private readonly ConcurrentDictionary<string, (TenantRecord Record, long Until)> _found = new(StringComparer.Ordinal);
    private long _nextSweep;

    public async ValueTask<TenantRecord?> FindAsync(string name, CancellationToken cancellationToken)
    {
        if (_found.TryGetValue(name, out var hit) && Environment.TickCount64 < hit.Until)
        {
            return hit.Record;
        }

        TenantRecord? record = await catalog.FindAsync(name, cancellationToken);
        SweepExpired();

        // Only a served tenant is cached: one still being provisioned is asked again until it is ready.
        if (record is { IsServed: true })
        {
            _found[name] = (record, Environment.TickCount64 + (long)options.Value.RegistryCacheDuration.TotalMilliseconds);
        }

        return record;
    }

    public void Forget(string name) => _found.TryRemove(name, out _);

    // A miss already paid a catalog round trip; one walk per cache duration keeps it cheap. An entry refreshed
    // meanwhile compares unequal and stays.
    private void SweepExpired()
    {
        long now = Environment.TickCount64, due = Interlocked.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + (long)options.Value.RegistryCacheDuration.TotalMilliseconds, due) != due)
        {
            return;
        }

        foreach (KeyValuePair<string, (TenantRecord Record, long Until)> entry in _found)
        {
            if (entry.Value.Until <= now)
            {
                _found.TryRemove(entry);
            }
        }
    }
}

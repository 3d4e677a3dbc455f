using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tenants.Shared;
using Tenants.Shared.Catalog;

namespace Saas.Api.Tenancy;

/// <summary>
/// The catalog as a tenant store, with a short cache of found tenants so that a request costs no catalog round trip.
/// Misses and refusals are never cached: a tenant registered or reactivated by another process is served at once, and
/// one deactivated there stops being served within <see cref="TenancyOptions.RegistryCacheDuration"/>.
/// </summary>
public sealed class CatalogTenantStore(ITenantCatalog catalog, IOptions<TenancyOptions> options) : ITenantStore
{
    private readonly ConcurrentDictionary<string, (TenantRecord Record, long Until)> _found = new(StringComparer.Ordinal);

    public async ValueTask<TenantRecord?> FindAsync(string name, CancellationToken cancellationToken)
    {
        if (_found.TryGetValue(name, out var hit) && Environment.TickCount64 < hit.Until)
        {
            return hit.Record;
        }

        TenantRecord? record = await catalog.FindAsync(name, cancellationToken);

        // Only a served tenant is cached: one still being provisioned is asked again until it is ready.
        if (record is { IsServed: true })
        {
            _found[name] = (record, Environment.TickCount64 + (long)options.Value.RegistryCacheDuration.TotalMilliseconds);
        }

        return record;
    }

    public void Forget(string name) => _found.TryRemove(name, out _);
}

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
    private readonly ExpiringCache<TenantRecord> _found = new(options.Value.RegistryCacheDuration);

    public async ValueTask<TenantRecord?> FindAsync(string name, CancellationToken cancellationToken)
    {
        if (_found.TryGet(name, out TenantRecord? hit))
        {
            return hit;
        }

        TenantRecord? record = await catalog.FindAsync(name, cancellationToken);
        _found.SweepExpired(); // a miss already paid a catalog round trip

        // Only a served tenant is cached: one still being provisioned is asked again until it is ready.
        if (record is { IsServed: true })
        {
            _found.Set(name, record);
        }

        return record;
    }

    public void Forget(string name) => _found.Remove(name);
}

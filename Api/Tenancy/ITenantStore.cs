using Tenants.Shared.Catalog;

namespace Saas.Api.Tenancy;

/// <summary>Looks a (valid) tenant name up. Null means no such tenant.</summary>
public interface ITenantStore
{
    ValueTask<TenantRecord?> FindAsync(string name, CancellationToken cancellationToken);
}

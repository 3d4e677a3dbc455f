using Tenants.Shared.Catalog;

namespace Saas.Api.Tenancy;

/// <summary>Looks a (valid) tenant name up. Null means no such tenant.</summary>
public interface ITenantStore
{
    ValueTask<TenantRecord?> FindAsync(string name, CancellationToken cancellationToken);

    /// <summary>Drops any cached copy of <paramref name="name"/>: an operator just changed that tenant.</summary>
    void Forget(string name);
}

namespace Tenants.Shared.Catalog;

/// <summary>The NOTIFY channels the catalog's triggers announce on, for <see cref="CatalogNotifications"/>.</summary>
public static class CatalogChannels
{
    /// <summary>A new registration; the payload is the tenant's name.</summary>
    public const string Registered = "tenant_saas_registered";

    /// <summary>A tenant's state or status changed, or its row went; the payload is its name.</summary>
    public const string Changed = "tenant_saas_changed";

    /// <summary>An operator request was made or carried out; the payload is its id.</summary>
    public const string Requests = "tenant_saas_requests";
}

namespace Tenants.Shared.Catalog;

/// <summary>
/// The registered tenants: the set the migration runner walks and the store tenant resolution asks.
/// Durable in the catalog table, so every process sees the same set.
/// </summary>
public interface ITenantRegistry
{
    /// <summary>
    /// Registers <paramref name="name"/> after validating it. Idempotent, and safe when several processes register
    /// the same name at once. Returns true when this call added it, false when it was there already. Throws
    /// <see cref="SchemaTakenException"/> when a schema of that name exists that was not created for a tenant.
    /// </summary>
    Task<bool> RegisterAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>A copy of the registered set: changing it changes nothing in the registry.</summary>
    Task<HashSet<string>> RegisteredTenantsAsync(CancellationToken cancellationToken = default);

    /// <summary>Whether <paramref name="name"/> is registered. An invalid name is simply not registered.</summary>
    ValueTask<bool> IsRegisteredAsync(string name, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="IsRegisteredAsync"/>
    bool IsRegistered(string name);
}

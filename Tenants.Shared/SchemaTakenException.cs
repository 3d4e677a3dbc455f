namespace Tenants.Shared;

/// <summary>
/// A schema of the tenant's name exists that was not created for a tenant: registering the name would hand that schema
/// to the tenant. Nothing was registered.
/// </summary>
public sealed class SchemaTakenException(string name)
    : InvalidOperationException($"Schema '{name}' already exists and was not created for a tenant: a tenant named '{name}' would take it over. Give the tenant another name, or rename or drop that schema if it is a leftover.")
{
    public string TenantName { get; } = name;
}
